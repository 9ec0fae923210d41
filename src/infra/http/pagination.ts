import type { Sql } from '../db/database.js';

export interface PageParams {
  limit?: number | undefined;
  starting_after?: string | undefined;
  ending_before?: string | undefined;
}

export interface Page<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

/**
 * Cursor pages over time-sortable ids, newest first (docs/reference/api-conventions.md). The cursor is an id, so a
 * row inserted while a client pages cannot shift the pages: nothing is skipped, nothing repeated.
 * `baseQuery` is a SELECT whose WHERE clause ends where this adds `AND id < $n`; its parameters come first.
 */
export async function paginate<T extends { id: string }>(sql: Sql, baseQuery: string, params: unknown[], page: PageParams, column = 'id'): Promise<Page<T>> {
  const limit = Math.min(Math.max(page.limit ?? 10, 1), 100);
  const n = params.length;
  if (page.ending_before) {
    const { rows } = await sql.query<T>(`${baseQuery} AND ${column} > $${n + 1} ORDER BY ${column} ASC LIMIT $${n + 2}`, [...params, page.ending_before, limit + 1]);
    const has_more = rows.length > limit;
    return { object: 'list', data: rows.slice(0, limit).reverse(), has_more };
  }
  const cursor = page.starting_after;
  const { rows } = await sql.query<T>(
    cursor ? `${baseQuery} AND ${column} < $${n + 1} ORDER BY ${column} DESC LIMIT $${n + 2}` : `${baseQuery} ORDER BY ${column} DESC LIMIT $${n + 1}`,
    cursor ? [...params, cursor, limit + 1] : [...params, limit + 1],
  );
  return { object: 'list', data: rows.slice(0, limit), has_more: rows.length > limit };
}

import { Type, type TSchema } from 'typebox';

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      type: Type.String(),
      code: Type.String(),
      message: Type.String(),
      param: Type.Optional(Type.String()),
      decline_code: Type.Optional(Type.String()),
      request_id: Type.String(),
    }),
  },
  { $id: 'Error', description: 'The one error shape of every API (see the catalogue in the docs).' },
);

/** A cursor page, newest first (docs/reference/api-conventions.md). */
export function ListOf<T extends TSchema>(item: T) {
  return Type.Object({ object: Type.Literal('list'), data: Type.Array(item), has_more: Type.Boolean() });
}

export const ListQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
  starting_after: Type.Optional(Type.String({ maxLength: 64 })),
  ending_before: Type.Optional(Type.String({ maxLength: 64 })),
};

export const Timestamp = Type.String({ format: 'date-time' });

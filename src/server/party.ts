import type { MigrationSet } from '../infra/db/migrate.js';
import type { RouteSpec } from '../infra/http/route.js';

/** What each party contributes to a process: its schema's migrations and its routes. */
export interface PartyModule {
  name: string;
  /** Absent for modules whose tables live in infra. */
  migrations?: MigrationSet;
  routes: RouteSpec[];
}

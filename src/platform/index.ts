import type { Cache } from '../infra/cache/index.js';
import type { Database } from '../infra/db/database.js';
import type { PartyModule } from '../server/party.js';
import { v1_me_get } from './routes/v1_me_get.js';
import { v1_sessions_create } from './routes/v1_sessions_create.js';
import { v1_sessions_delete } from './routes/v1_sessions_delete.js';
import { v1_users_create } from './routes/v1_users_create.js';
import { PlatformService } from './service.js';

export function createPlatform(deps: { db: Database; cache: Cache }): PartyModule & { service: PlatformService } {
  const service = new PlatformService(deps.db, deps.cache);
  return {
    name: 'platform',
    service,
    migrations: { module: 'platform', dir: new URL('./migrations/', import.meta.url) },
    routes: [v1_users_create(service), v1_sessions_create(service), v1_sessions_delete(service), v1_me_get(service)],
  };
}

import type { Database } from '../infra/db/database.js';
import type { ApiKeys } from '../infra/http/auth.js';
import type { Transport } from '../infra/transport.js';
import type { PartyModule } from '../server/party.js';
import type { Observer } from './observer.js';
import { v1_api_keys_create, v1_api_keys_list, v1_api_keys_revoke } from './routes/v1_api_keys.js';
import { v1_ops_authorizations_list } from './routes/v1_ops_authorizations_list.js';
import { v1_ops_counters_get } from './routes/v1_ops_counters_get.js';
import { v1_ops_counters_stream } from './routes/v1_ops_counters_stream.js';
import { v1_ops_outbox_get } from './routes/v1_ops_outbox_get.js';
import { v1_ops_overview_get } from './routes/v1_ops_overview_get.js';
import { v1_ops_tokens_search } from './routes/v1_ops_tokens_search.js';
import { v1_ops_trace_apdus_create } from './routes/v1_ops_trace_apdus_create.js';
import { v1_ops_traces_get } from './routes/v1_ops_traces_get.js';
import { v1_ops_traces_list } from './routes/v1_ops_traces_list.js';
import { v1_ops_webhook_deliveries_list } from './routes/v1_ops_webhook_deliveries_list.js';
import { OpsService } from './service.js';

export { Observer } from './observer.js';
export { OpsService, transmissionKey } from './service.js';

export interface OpsDeps {
  apiKeys: ApiKeys;
  db: Database;
  observer: Observer;
  /** Reaches the parties' routes; the console reads each party through its own API. */
  parties: Transport;
  adminKey: string;
  brands: readonly string[];
  issuerIds: readonly string[];
}

/**
 * The sandbox operator: issues the parties' API keys (admin key), and the operations console's reads
 * (admin or read-only ops keys, docs/console.md). Its migration adds the `ops` role.
 */
export function createOps(deps: OpsDeps): PartyModule & { service: OpsService } {
  const service = new OpsService(deps);
  return {
    name: 'ops',
    service,
    migrations: { module: 'ops', dir: new URL('./migrations/', import.meta.url) },
    routes: [
      v1_api_keys_create(deps.apiKeys),
      v1_api_keys_list(deps.apiKeys),
      v1_api_keys_revoke(deps.apiKeys),
      v1_ops_overview_get(service),
      v1_ops_authorizations_list(service),
      v1_ops_tokens_search(service),
      v1_ops_outbox_get(service),
      v1_ops_webhook_deliveries_list(service),
      v1_ops_traces_list(deps.observer),
      v1_ops_traces_get(deps.observer),
      v1_ops_trace_apdus_create(deps.observer),
      v1_ops_counters_get(deps.observer),
      v1_ops_counters_stream(deps.observer),
    ],
  };
}

import type { ApiKeys } from '../infra/http/auth.js';
import type { PartyModule } from '../server/party.js';
import { v1_api_keys_create, v1_api_keys_list, v1_api_keys_revoke } from './routes/v1_api_keys.js';

/** The sandbox operator: issues the parties' API keys. Its own key is the admin key. */
export function createOps(deps: { apiKeys: ApiKeys }): PartyModule {
  return {
    name: 'ops',
    routes: [v1_api_keys_create(deps.apiKeys), v1_api_keys_list(deps.apiKeys), v1_api_keys_revoke(deps.apiKeys)],
  };
}

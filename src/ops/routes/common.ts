import { Type } from 'typebox';
import type { AuthRequirement } from '../../infra/http/route.js';

/** Every console read: the operator's admin key, or a read-only ops key. */
export const OPS_READ: AuthRequirement = { kind: 'apiKey', roles: ['admin', 'ops'] };

/** An object whose fields are documented in docs/console.md and passed through as they are. */
export const Open = Type.Object({}, { additionalProperties: true });

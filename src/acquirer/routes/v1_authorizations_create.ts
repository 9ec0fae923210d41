import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { IsoResponse } from '../schemas.js';
import type { AcquirerService } from '../service.js';

export const v1_authorizations_create = (svc: AcquirerService) =>
  defineRoute({
    method: 'POST',
    url: '/acquirer/v1/authorizations',
    operationId: 'v1_acquirer_authorizations_create',
    summary: 'A terminal sends a packed 0100 (or its 0400 reversal); the answer is the packed 0110 (or 0410)',
    description:
      'Terminal API keys only; DE 41 and DE 42 must be the key\'s terminal and merchant (else 403). A decline is a 0110 with its DE 39, ' +
      'not an HTTP error. A byte-identical retransmission (same DE 11 and DE 7) gets the stored 0110; another message under the same ' +
      'DE 11 and DE 7 gets DE 39 94. No network answer within the timeout: DE 39 91, and the acquirer reverses the authorization itself. ' +
      'HTTP errors only for what is not a message: 400 iso8583_invalid, 401, 403. See docs/authorization.md.',
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['terminal'] },
    consumes: 'application/octet-stream',
    response: { 200: IsoResponse },
    async handler({ principal, body }) {
      if (principal?.kind !== 'apiKey') throw new AppError('permission_denied');
      // A JSON (or any other parsed) body is not a message.
      if (!Buffer.isBuffer(body)) throw new AppError('iso8583_invalid', { message: 'The body must be a packed ISO 8583 message sent as application/octet-stream.' });
      const answer = await svc.handleMessage(principal.ownerId, new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
      return { status: 200, body: undefined, raw: answer };
    },
  });

import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { describeMessage, type IsoMessage } from '../../protocol/iso8583/iso8583.js';
import { callerFor } from '../access.js';
import { IssuerParams, IsoMessageBody } from '../schemas.js';
import type { IssuerService } from '../service.js';

/** What a log line shows of a message: describeMessage's masked view, without the chip data (only its length). */
function logView(msg: IsoMessage): { mti: string; fields: Record<string, string>; de55_bytes?: number } {
  const fields = { ...msg.fields };
  const de55 = fields[55];
  for (const n of [35, 52, 55]) delete fields[n];
  const view = describeMessage({ mti: msg.mti, fields });
  return de55 instanceof Uint8Array ? { ...view, de55_bytes: de55.length } : view;
}

export const v1_iso8583 = (svc: IssuerService) =>
  defineRoute({
    method: 'POST',
    url: '/issuer/:issuer_id/v1/iso8583',
    operationId: 'v1_issuer_iso8583',
    summary: 'A network sends a packed 0100 (authorization) or 0400 / 0420 (reversal); the answer is the packed 0110, 0410 or 0430',
    description:
      'Network API keys only; a key owned by a brand (visa, mastercard, amex, discover) may send only that brand\'s cards (another brand: DE 39 14, nothing recorded). ' +
      'A decline is a 0110 with its DE 39, not an HTTP error. A repeated 0100 (same DE 32, DE 11, DE 7, DE 41) gets the first answer again; ' +
      'a reversal (DE 90 names the original) releases the hold once; a reversal before its original makes the late original a 12. ' +
      'HTTP errors only for what is not a message: 400 issuer_message_invalid, 401, 403, 404 (unknown issuer). See docs/authorization.md.',
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['network'] },
    consumes: 'application/octet-stream',
    params: IssuerParams,
    response: { 200: IsoMessageBody },
    async handler({ params, body, principal, log }) {
      const caller = callerFor(principal, params.issuer_id);
      // A JSON (or any other parsed) body is not a message.
      if (!Buffer.isBuffer(body)) throw new AppError('issuer_message_invalid', { message: 'The body must be a packed ISO 8583 message sent as application/octet-stream.' });
      const { request, response, outcome } = await svc.handleIso8583(params.issuer_id, caller, new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
      log.info({ issuer_id: params.issuer_id, requester: caller.requester, iso: logView(request), outcome }, 'issuer iso8583');
      return { status: 200, body: undefined, raw: response };
    },
  });

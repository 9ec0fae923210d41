import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import { BrandParam, IsoResponse } from '../schemas.js';
import type { NetworkSwitch } from '../switch.js';

export const v1_iso8583 = (sw: NetworkSwitch) =>
  defineRoute({
    method: 'POST',
    url: '/network/:brand/v1/iso8583',
    operationId: 'v1_network_iso8583',
    summary: "An acquirer's packed 0100 (or 0400 / 0420 reversal) with a token; the answer is the packed 0110 (or 0410 / 0430)",
    description:
      "Acquirer API keys only. The network checks the token (status, expiry, domain restrictions, ARQC in its HSM, ATC strictly increasing), " +
      "sends the issuer a 0100 with the card number and the token context in DE 48, and maps the issuer's answer back to the token, with the " +
      'ARPC in DE 55 tag 91 on an approval. A decline is a 0110 with its DE 39 (14, 54, 57, 62, 63, 88, 91 …), not an HTTP error. The same ' +
      'message again under the same DE 11, DE 7 and DE 41 gets the recorded answer; another message under them gets 94. A 0400/0420 reverses ' +
      'the original at the issuer once and is always acknowledged with 00 (also when the original is unknown). HTTP errors only for what is ' +
      'not a message: 400 iso8583_invalid, 401, 403. See docs/authorization.md.',
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['acquirer'] },
    consumes: 'application/octet-stream',
    params: Type.Object({ brand: BrandParam }),
    response: { 200: IsoResponse },
    async handler({ params, principal, body, log }) {
      const brand = brandParam(params.brand);
      if (principal?.kind !== 'apiKey') throw new AppError('permission_denied');
      // A JSON (or any other parsed) body is not a message.
      if (!Buffer.isBuffer(body)) throw new AppError('iso8583_invalid', { message: 'The body must be a packed ISO 8583 message sent as application/octet-stream.' });
      const answer = await sw.handle(brand, principal.ownerId, new Uint8Array(body.buffer, body.byteOffset, body.byteLength), log);
      return { status: 200, body: undefined, raw: answer };
    },
  });

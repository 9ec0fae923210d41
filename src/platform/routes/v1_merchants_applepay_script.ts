import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { applePayScript, type ApplePayScript } from '../merchants/applepay-script.js';
import type { MerchantService } from '../merchants/service.js';

export const v1_merchants_applepay_script = (svc: MerchantService) => {
  // Bundled once (esbuild), then served from memory: a listening server starts the bundle as it starts to
  // listen (src/server/tessera.ts), a platform that never listens (a scenario's) on the first request only.
  let script: Promise<ApplePayScript> | undefined;
  return defineRoute({
    method: 'GET',
    url: '/applepay/v1/apple-pay.js',
    operationId: 'v1_merchants_applepay_script',
    summary: 'The ApplePaySession script (Apple Pay JS compatible) merchant pages include to check out with the platform',
    description:
      'Defines window.ApplePaySession and window.ApplePayError. The payment sheet is the platform\'s /wallet/pay page in an iframe; ' +
      'onvalidatemerchant gives the merchant-validation URL (mutual TLS) of this platform.',
    tags: ['merchants'],
    auth: { kind: 'public' },
    response: { 200: Type.String() },
    async handler({ headers }) {
      const url = svc.validationUrl;
      if (!url) throw new AppError('service_unavailable', { message: 'The merchant-validation listener is not running, so the script cannot name it.' });
      if (!script) {
        script = applePayScript();
        script.catch(() => {
          script = undefined;
        });
      }
      const { text, etag } = (await script).render(url);
      const common = { ETag: etag, 'Cache-Control': 'public, max-age=300', 'Cross-Origin-Resource-Policy': 'cross-origin', 'Access-Control-Allow-Origin': '*', 'X-Content-Type-Options': 'nosniff' };
      if (headers['if-none-match'] === etag) return { status: 304, body: '', headers: common };
      return { status: 200, body: text, headers: { ...common, 'Content-Type': 'text/javascript; charset=utf-8' } };
    },
  });
};

import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export interface ApplePayScript {
  /** The script text for a validation URL, and its ETag. */
  render(validationURL: string): { text: string; etag: string };
}

let bundled: Promise<string> | undefined;

/**
 * Bundles src/merchant/applepayjs (browser.ts) once per process with esbuild into one IIFE, wrapped so
 * nothing but ApplePaySession, ApplePayError, PaymentRequest (wrapping the browser's own) and the
 * <apple-pay-button> element reaches the page's globals.
 */
export function bundleApplePayScript(): Promise<string> {
  bundled ??= build({
    entryPoints: [fileURLToPath(new URL('../../merchant/applepayjs/browser.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: '__tesseraApplePay',
    platform: 'browser',
    target: ['es2020', 'safari14'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  }).then((r) => r.outputFiles[0]!.text);
  // A failed build is retried on the next request rather than cached.
  bundled.catch(() => {
    bundled = undefined;
  });
  return bundled;
}

export async function applePayScript(): Promise<ApplePayScript> {
  const code = await bundleApplePayScript();
  const cache = new Map<string, { text: string; etag: string }>();
  return {
    render(validationURL) {
      let hit = cache.get(validationURL);
      if (!hit) {
        const text = `/* Tessera ApplePaySession (Apple Pay JS compatible) */\n(function(){${code}\n__tesseraApplePay.install(${JSON.stringify({ validationURL })});})();\n`;
        hit = { text, etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"` };
        cache.set(validationURL, hit);
      }
      return hit;
    },
  };
}

import { request as httpsRequest } from 'node:https';
import { AppError } from '../../infra/errors.js';
import type { Logger } from '../../infra/logger.js';
import './errors.js';
import type { StoreKeyVault } from './keys.js';

export interface MerchantValidatorDeps {
  vault: StoreKeyVault;
  merchantIdentifier: string;
  displayName: string;
  /** The domain the store registered and verified (initiativeContext). */
  domain: () => string | undefined;
  /** The configured payment platform's merchant-validation URLs: the only ones the store calls. */
  allowedUrls: () => readonly string[];
  /** The platform's root (PEM): the validation listener's certificate chains to it. */
  rootPem: () => Promise<string>;
  log: Logger;
  timeoutMs?: number;
}

const MAX_SESSION_BYTES = 64 * 1024;

/** Whether `candidate` is exactly one of the allowed validation URLs (scheme, host, port and path; no query or fragment, no credentials). */
export function isAllowedValidationUrl(candidate: string, allowed: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash) return false;
  return allowed.some((a) => {
    try {
      const b = new URL(a);
      return b.protocol === 'https:' && b.origin === url.origin && b.pathname === url.pathname;
    } catch {
      return false;
    }
  });
}

/**
 * onvalidatemerchant, server side: POSTs { merchantIdentifier, displayName, initiative: 'web',
 * initiativeContext } to the platform's validation URL over mutual TLS with the store's identity
 * certificate, trusting only the platform's root, and returns the opaque merchant session as is.
 */
export class MerchantValidator {
  constructor(private readonly deps: MerchantValidatorDeps) {}

  async merchantSession(validationURL: string): Promise<Record<string, unknown>> {
    if (!isAllowedValidationUrl(validationURL, this.deps.allowedUrls())) throw new AppError('validation_url_not_allowed', { param: 'validationURL' });
    const identity = await this.deps.vault.identity();
    const domain = this.deps.domain();
    if (!identity || !domain) throw new AppError('store_not_ready');
    const body = JSON.stringify({ merchantIdentifier: this.deps.merchantIdentifier, displayName: this.deps.displayName, initiative: 'web', initiativeContext: domain });
    const ca = await this.deps.rootPem();
    const url = new URL(validationURL);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          method: 'POST',
          hostname: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port || 443,
          path: url.pathname,
          cert: identity.chainPem,
          key: identity.keyPem,
          ca,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: this.deps.timeoutMs ?? 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_SESSION_BYTES) req.destroy(new Error('merchant session too large'));
            else chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('merchant validation timed out')));
      req.on('error', reject);
      req.end(body);
    }).catch((err: unknown) => {
      this.deps.log.warn({ err: err instanceof Error ? { type: err.name, message: err.message } : {} }, 'store: merchant validation call failed');
      throw new AppError('merchant_validation_failed', { message: 'The payment platform could not be reached for merchant validation.' });
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (status !== 200 || typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      const code = (parsed as { error?: { code?: unknown } } | undefined)?.error?.code;
      this.deps.log.warn({ status, code: typeof code === 'string' ? code : undefined }, 'store: merchant validation refused');
      throw new AppError('merchant_validation_failed');
    }
    return parsed as Record<string, unknown>;
  }
}

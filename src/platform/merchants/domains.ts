import { createHash, randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AppError } from '../../infra/errors.js';
import './errors.js';

export const ASSOCIATION_PATH = '/.well-known/apple-developer-merchantid-domain-association';
/** The association file is a few hundred bytes; anything much bigger is not it. */
const MAX_ASSOCIATION_BYTES = 16 * 1024;

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOSTNAME_RE = new RegExp(`^(?:${LABEL}\\.)+${LABEL}$`);
const LOOPBACK_RE = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(?::(\d{1,5}))?$/;

export interface DomainPolicy {
  /** Sandbox: loopback hosts (with a port) may be registered and are fetched over plain http. */
  allowLoopback: boolean;
  /** How long one fetch of the association file may take. */
  timeoutMs: number;
}

/** Lower-cases and checks a domain as a merchant gives it; throws merchant_domain_invalid. */
export function normalizeDomain(input: string, policy: DomainPolicy): string {
  const d = input.trim().toLowerCase().replace(/\.$/, '');
  const loop = LOOPBACK_RE.exec(d);
  if (loop) {
    const port = loop[2] === undefined ? undefined : Number(loop[2]);
    if (!policy.allowLoopback || (port !== undefined && (port < 1 || port > 65535))) throw new AppError('merchant_domain_invalid', { param: 'domain' });
    if (loop[1]!.startsWith('127.') && isIP(loop[1]!) !== 4) throw new AppError('merchant_domain_invalid', { param: 'domain' });
    return d;
  }
  if (d.length > 253 || !HOSTNAME_RE.test(d) || isIP(d) !== 0 || /^[0-9.]+$/.test(d)) throw new AppError('merchant_domain_invalid', { param: 'domain' });
  return d;
}

export function isLoopbackDomain(domain: string): boolean {
  return LOOPBACK_RE.test(domain);
}

/** The content the merchant serves: hex of a small JSON document naming the merchant and domain, with a random part. */
export function newAssociation(merchantIdentifier: string, domain: string, now: Date): string {
  const doc = {
    pspId: createHash('sha256').update(merchantIdentifier, 'utf8').digest('hex').toUpperCase(),
    version: 1,
    createdOn: now.getTime(),
    domain,
    nonce: randomBytes(16).toString('hex'),
  };
  return Buffer.from(JSON.stringify(doc), 'utf8').toString('hex');
}

/** Private, loopback, link-local and other non-public addresses: a public domain must not lead the platform there. */
function isNonPublicAddress(address: string): boolean {
  if (isIP(address) === 4) {
    const [a, b] = address.split('.').map(Number) as [number, number];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
  }
  const v6 = address.toLowerCase();
  if (v6.startsWith('::ffff:')) return isNonPublicAddress(v6.slice(7));
  return v6 === '::' || v6 === '::1' || v6.startsWith('fc') || v6.startsWith('fd') || v6.startsWith('fe80') || v6.startsWith('ff');
}

/**
 * Fetches the association file from the domain and compares it with what the platform gave the
 * merchant. Returns undefined when it matches, otherwise a fixed phrase saying why (never the content).
 * https for real domains, plain http only for loopback hosts in the sandbox; no redirects; bounded in
 * time and size.
 */
export async function checkAssociation(domain: string, expected: string, policy: DomainPolicy): Promise<string | undefined> {
  const loopback = isLoopbackDomain(domain);
  if (loopback && !policy.allowLoopback) return 'loopback domains are not allowed';
  if (!loopback) {
    try {
      const addresses = await lookup(domain, { all: true, verbatim: true });
      if (addresses.length === 0 || addresses.some((a) => isNonPublicAddress(a.address))) return 'the domain does not resolve to a public address';
    } catch {
      return 'the domain does not resolve';
    }
  }
  const url = `${loopback ? 'http' : 'https'}://${domain}${ASSOCIATION_PATH}`;
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(policy.timeoutMs), headers: { accept: 'text/plain, */*' } });
  } catch (err) {
    return (err as { name?: string }).name === 'TimeoutError' ? 'the domain did not answer in time' : 'the domain could not be reached';
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    return `the association file was answered with HTTP ${res.status}`;
  }
  let text: string;
  try {
    text = await readLimited(res, MAX_ASSOCIATION_BYTES, policy.timeoutMs);
  } catch {
    return 'the association file is too large or could not be read';
  }
  return text.trim() === expected ? undefined : 'the association file content does not match';
}

async function readLimited(res: Response, limit: number, timeoutMs: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (Date.now() > deadline) throw new Error('timeout');
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) throw new Error('too large');
      chunks.push(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString('utf8');
}

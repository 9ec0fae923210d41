import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * CSPRNG bytes drawn a few kilobytes at a time (as Node's own randomUUID does): one call to the
 * system's generator per ~200 ids instead of one per id. Each byte is handed out once.
 */
const pool = Buffer.alloc(4096);
let used = pool.length;

function randomByte(): number {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  return pool[used++]!;
}

/** `length` base62 characters, each from one random byte below 248 (248 = 4 × 62: no modulo bias; larger bytes are skipped). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const b = randomByte();
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out;
}

/**
 * Opaque, prefixed ids (`usr_`, `dev_`, `card_`, `tok_`, `txn_`, `mer_`, `evt_`, `key_` ...).
 * A time prefix makes them sort by creation, which keeps index inserts local and lets cursors
 * order by id; the random part (16 base62 characters, ~95 bits) makes them unguessable.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  return `${prefix}_${now.toString(36).padStart(9, '0')}${randomBase62(16)}`;
}

export function hasPrefix(id: string, prefix: string): boolean {
  return id.startsWith(`${prefix}_`) && /^[a-z]+_[0-9a-z]{9}[0-9A-Za-z]{16}$/.test(id);
}

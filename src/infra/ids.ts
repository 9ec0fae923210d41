import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Base62 of `bytes` random bytes (rejection-free: 62 symbols from a byte by modulo of 248). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out += ALPHABET[b % 62];
    }
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

/**
 * ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC"), the MAC EMV uses for application cryptograms and
 * ARPC method 2: single-DES CBC under the left key half K over every block, then the last result
 * is decrypted under the right half K' and encrypted again under K. 8-byte result.
 */
import { ProtocolError } from '../errors.js';
import { Des } from './primitives.js';

/** ISO/IEC 9797-1 padding: 1 = zeros to a block boundary (none if already aligned, one zero block
 * for empty data); 2 = a byte 80 always added, then zeros to a block boundary. */
export type MacPadding = 1 | 2;

export function padIso9797(data: Uint8Array, method: MacPadding): Uint8Array {
  if (method !== 1 && method !== 2) throw new ProtocolError('mac_bad_padding', 'padding method must be 1 or 2');
  const base = method === 2 ? data.length + 1 : data.length;
  const length = Math.max(8, Math.ceil(base / 8) * 8);
  const out = new Uint8Array(length);
  out.set(data);
  if (method === 2) out[data.length] = 0x80;
  return out;
}

/** MAC algorithm 3 under one 16-byte key; the DES key schedules are computed once here. */
export class RetailMac {
  readonly #left: Des;
  readonly #right: Des;

  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new ProtocolError('mac_bad_key_length', 'MAC key must be 16 bytes');
    this.#left = new Des(key.subarray(0, 8));
    this.#right = new Des(key.subarray(8, 16));
  }

  /** The 8-byte MAC of data padded by the given method. */
  mac(data: Uint8Array, padding: MacPadding): Uint8Array {
    const padded = padIso9797(data, padding);
    const h = new Uint8Array(8);
    for (let o = 0; o < padded.length; o += 8) {
      for (let i = 0; i < 8; i++) h[i]! ^= padded[o + i]!;
      this.#left.encryptInto(h, 0, h, 0);
    }
    this.#right.decryptInto(h, 0, h, 0);
    this.#left.encryptInto(h, 0, h, 0);
    return h;
  }
}

/** One-shot ISO/IEC 9797-1 MAC algorithm 3 with a 16-byte key: 8 bytes. */
export function macAlgorithm3(key: Uint8Array, data: Uint8Array, padding: MacPadding): Uint8Array {
  return new RetailMac(key).mac(data, padding);
}

/**
 * Node's OpenSSL AES under src/protocol/crypto/aes.ts (see `useSyncAesCbc` there). Node-only: the browser build never
 * imports this file, and keeps WebCrypto.
 */
import { createCipheriv } from 'node:crypto';
import { useSyncAesCbc } from '../protocol/crypto/aes.js';

const ZERO_IV = Buffer.alloc(16);
const CIPHERS: Record<number, string> = { 16: 'aes-128-cbc', 24: 'aes-192-cbc', 32: 'aes-256-cbc' };

function nodeAesCbc(key: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = createCipheriv(CIPHERS[key.length]!, key, ZERO_IV);
  cipher.setAutoPadding(false);
  const head = cipher.update(data);
  const tail = cipher.final();
  return tail.length === 0 ? new Uint8Array(head.buffer, head.byteOffset, head.length) : new Uint8Array(Buffer.concat([head, tail]));
}

/** Idempotent; called by the server and the CLI at start. */
export function installNodeAes(): void {
  useSyncAesCbc(nodeAesCbc);
}

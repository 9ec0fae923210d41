/**
 * DES and Triple DES (FIPS 46-3, NIST SP 800-67) for EMV key derivation, cryptograms and MACs.
 *
 * WebCrypto has no DES, so this is a small table-driven implementation in TypeScript: the
 * S-boxes are folded with the P permutation into eight 64-entry SP tables, IP and FP are done with
 * byte-indexed lookup tables, and the key schedule is computed once per key object (`Des`,
 * `TripleDes`) so a key that is used many times (an issuer master key) costs its schedule once.
 * All tables are computed at load time from the standard tables below, not typed in.
 *
 * Pure: no I/O, no randomness; runs in Node and the browser. Key bytes never reach an error message.
 */
import { ProtocolError } from '../errors.js';

// --- Standard tables (bit numbers are 1-based, bit 1 = most significant) -------------------------

const IP = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
  62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
  57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
  61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

const P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25];

const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
  10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
  14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];

const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

const S = [
  [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
    4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13],
  [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
    0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
  [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
    13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12],
  [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
    10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14],
  [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
    4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3],
  [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
    9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
  [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
    1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
  [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
    7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
];

// --- Derived lookup tables -----------------------------------------------------------------------

/** SP[j * 64 + x]: P applied to S-box j's output for 6-bit input x, placed in its nibble. */
const SP = new Int32Array(8 * 64);
for (let j = 0; j < 8; j++) {
  const box = S[j]!;
  for (let x = 0; x < 64; x++) {
    const row = ((x >> 4) & 2) | (x & 1);
    const col = (x >> 1) & 15;
    const nibbled = box[row * 16 + col]! << (28 - 4 * j);
    let out = 0;
    for (let i = 0; i < 32; i++) {
      if ((nibbled >>> (32 - P[i]!)) & 1) out |= 1 << (31 - i);
    }
    SP[j * 64 + x] = out;
  }
}

/**
 * A 64-bit permutation as byte-indexed tables: T[(k * 256 + v) * 2] / [+1] are the high and low
 * output words contributed by input byte k having value v. `table[i]` names the input bit of output bit i+1.
 */
function byteTables(table: number[]): Uint32Array {
  const t = new Uint32Array(8 * 256 * 2);
  for (let i = 0; i < 64; i++) {
    const src = table[i]! - 1; // 0-based input bit
    const k = src >> 3;
    const mask = 0x80 >> (src & 7);
    const word = i < 32 ? 0 : 1;
    const bit = (1 << (31 - (i & 31))) >>> 0;
    for (let v = 0; v < 256; v++) {
      if (v & mask) t[(k * 256 + v) * 2 + word]! |= bit;
    }
  }
  return t;
}

const FP_TABLE: number[] = new Array<number>(64);
for (let i = 0; i < 64; i++) FP_TABLE[IP[i]! - 1] = i + 1;
const IPT = byteTables(IP);
const FPT = byteTables(FP_TABLE);

// --- Core ----------------------------------------------------------------------------------------

/**
 * KEY_BITS[round * 48 + j]: which key bit (0-based, 0 = MSB of byte 0) becomes bit j of the
 * round's subkey: PC1, the left rotations and PC2 composed once, so a key schedule is 768 lookups.
 */
const KEY_BITS = new Uint8Array(16 * 48);
{
  const c = PC1.slice(0, 28).map((b) => b - 1);
  const d = PC1.slice(28, 56).map((b) => b - 1);
  for (let round = 0; round < 16; round++) {
    for (let s = 0; s < SHIFTS[round]!; s++) {
      c.push(c.shift()!);
      d.push(d.shift()!);
    }
    const cd = [...c, ...d];
    for (let j = 0; j < 48; j++) KEY_BITS[round * 48 + j] = cd[PC2[j]! - 1]!;
  }
}

/** 16 subkeys of 8 six-bit groups each (128 bytes), from the 8-byte key at key[offset]. */
function keySchedule(key: Uint8Array, offset: number): Uint8Array {
  const bits = new Uint8Array(64);
  for (let i = 0; i < 64; i++) bits[i] = (key[offset + (i >> 3)]! >> (7 - (i & 7))) & 1;
  const out = new Uint8Array(128);
  for (let g = 0, j = 0; g < 128; g++) {
    let v = 0;
    for (let b = 0; b < 6; b++, j++) v = (v << 1) | bits[KEY_BITS[j]!]!;
    out[g] = v;
  }
  return out;
}

/**
 * The 16 Feistel rounds on (l, r) after IP, with the final swap: writes the pre-output (R16, L16)
 * into state. Running two of these back to back equals DES∘DES because FP∘IP is the identity.
 */
function rounds(k: Uint8Array, state: Int32Array, decrypt: boolean): void {
  let l = state[0]!;
  let r = state[1]!;
  for (let i = 0; i < 16; i++) {
    const o = (decrypt ? 15 - i : i) * 8;
    const rr = (r >>> 1) | (r << 31);
    const f =
      SP[(((rr >>> 26) & 63) ^ k[o]!)]! |
      SP[64 + (((rr >>> 22) & 63) ^ k[o + 1]!)]! |
      SP[128 + (((rr >>> 18) & 63) ^ k[o + 2]!)]! |
      SP[192 + (((rr >>> 14) & 63) ^ k[o + 3]!)]! |
      SP[256 + (((rr >>> 10) & 63) ^ k[o + 4]!)]! |
      SP[320 + (((rr >>> 6) & 63) ^ k[o + 5]!)]! |
      SP[384 + (((rr >>> 2) & 63) ^ k[o + 6]!)]! |
      SP[448 + ((((r << 1) | (r >>> 31)) & 63) ^ k[o + 7]!)]!;
    const t = l ^ f;
    l = r;
    r = t;
  }
  state[0] = r;
  state[1] = l;
}

function permIn(src: Uint8Array, off: number, state: Int32Array): void {
  let hi = 0;
  let lo = 0;
  for (let k = 0; k < 8; k++) {
    const idx = (k * 256 + src[off + k]!) * 2;
    hi |= IPT[idx]!;
    lo |= IPT[idx + 1]!;
  }
  state[0] = hi;
  state[1] = lo;
}

function permOut(state: Int32Array, dst: Uint8Array, off: number): void {
  let hi = 0;
  let lo = 0;
  for (let k = 0; k < 8; k++) {
    const w = state[k >> 2]!;
    const v = (w >>> (24 - 8 * (k & 3))) & 255;
    const idx = (k * 256 + v) * 2;
    hi |= FPT[idx]!;
    lo |= FPT[idx + 1]!;
  }
  dst[off] = hi >>> 24;
  dst[off + 1] = hi >>> 16;
  dst[off + 2] = hi >>> 8;
  dst[off + 3] = hi;
  dst[off + 4] = lo >>> 24;
  dst[off + 5] = lo >>> 16;
  dst[off + 6] = lo >>> 8;
  dst[off + 7] = lo;
}

function checkBlock(block: Uint8Array, off: number): void {
  if (off < 0 || off + 8 > block.length) throw new ProtocolError('des_bad_block', 'DES block must be 8 bytes');
}

// --- Public API ----------------------------------------------------------------------------------

/** A block cipher with 8-byte blocks (single or triple DES). */
export interface BlockCipher8 {
  /** Encrypts the 8 bytes at src[srcOff] into dst[dstOff] (may be the same place). */
  encryptInto(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void;
  decryptInto(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void;
}

abstract class Cipher8 implements BlockCipher8 {
  protected readonly state = new Int32Array(2);
  abstract encryptInto(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void;
  abstract decryptInto(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void;

  /** Encrypts one 8-byte block. */
  encryptBlock(block: Uint8Array): Uint8Array {
    if (block.length !== 8) throw new ProtocolError('des_bad_block', 'DES block must be 8 bytes');
    const out = new Uint8Array(8);
    this.encryptInto(block, 0, out, 0);
    return out;
  }

  /** Decrypts one 8-byte block. */
  decryptBlock(block: Uint8Array): Uint8Array {
    if (block.length !== 8) throw new ProtocolError('des_bad_block', 'DES block must be 8 bytes');
    const out = new Uint8Array(8);
    this.decryptInto(block, 0, out, 0);
    return out;
  }

  /** ECB over whole blocks (no padding: the length must be a multiple of 8). */
  encryptEcb(data: Uint8Array): Uint8Array {
    checkMultiple(data);
    const out = new Uint8Array(data.length);
    for (let o = 0; o < data.length; o += 8) this.encryptInto(data, o, out, o);
    return out;
  }

  decryptEcb(data: Uint8Array): Uint8Array {
    checkMultiple(data);
    const out = new Uint8Array(data.length);
    for (let o = 0; o < data.length; o += 8) this.decryptInto(data, o, out, o);
    return out;
  }

  /** CBC over whole blocks (no padding), IV of 8 bytes (zeros when omitted). */
  encryptCbc(data: Uint8Array, iv: Uint8Array = new Uint8Array(8)): Uint8Array {
    checkMultiple(data);
    checkIv(iv);
    const out = new Uint8Array(data.length);
    const chain = Uint8Array.from(iv);
    for (let o = 0; o < data.length; o += 8) {
      for (let i = 0; i < 8; i++) chain[i]! ^= data[o + i]!;
      this.encryptInto(chain, 0, chain, 0);
      out.set(chain, o);
    }
    return out;
  }

  decryptCbc(data: Uint8Array, iv: Uint8Array = new Uint8Array(8)): Uint8Array {
    checkMultiple(data);
    checkIv(iv);
    const out = new Uint8Array(data.length);
    for (let o = 0; o < data.length; o += 8) {
      this.decryptInto(data, o, out, o);
      for (let i = 0; i < 8; i++) out[o + i]! ^= o === 0 ? iv[i]! : data[o - 8 + i]!;
    }
    return out;
  }
}

function checkMultiple(data: Uint8Array): void {
  if (data.length % 8 !== 0) throw new ProtocolError('des_bad_length', 'DES data must be a multiple of 8 bytes');
}

function checkIv(iv: Uint8Array): void {
  if (iv.length !== 8) throw new ProtocolError('des_bad_iv', 'DES IV must be 8 bytes');
}

/** Single DES with an 8-byte key (parity bits ignored). */
export class Des extends Cipher8 {
  readonly #k: Uint8Array;

  constructor(key: Uint8Array) {
    super();
    if (key.length !== 8) throw new ProtocolError('des_bad_key_length', 'DES key must be 8 bytes');
    this.#k = keySchedule(key, 0);
  }

  encryptInto(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
    checkBlock(src, srcOff);
    checkBlock(dst, dstOff);
    permIn(src, srcOff, this.state);
    rounds(this.#k, this.state, false);
    permOut(this.state, dst, dstOff);
  }

  decryptInto(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
    checkBlock(src, srcOff);
    checkBlock(dst, dstOff);
    permIn(src, srcOff, this.state);
    rounds(this.#k, this.state, true);
    permOut(this.state, dst, dstOff);
  }
}

/**
 * Triple DES, EDE: 16-byte keys are two-key (K1 K2 K1), 24-byte keys three-key (K1 K2 K3).
 * Parity bits are ignored. Build one per key and reuse it: the key schedule is computed here once.
 */
export class TripleDes extends Cipher8 {
  readonly #k1: Uint8Array;
  readonly #k2: Uint8Array;
  readonly #k3: Uint8Array;
  /** 16 or 24: the length of the key this was built from. */
  readonly keyLength: number;

  constructor(key: Uint8Array) {
    super();
    if (key.length !== 16 && key.length !== 24) {
      throw new ProtocolError('des_bad_key_length', 'triple DES key must be 16 or 24 bytes');
    }
    this.keyLength = key.length;
    this.#k1 = keySchedule(key, 0);
    this.#k2 = keySchedule(key, 8);
    this.#k3 = key.length === 24 ? keySchedule(key, 16) : this.#k1;
  }

  encryptInto(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
    checkBlock(src, srcOff);
    checkBlock(dst, dstOff);
    permIn(src, srcOff, this.state);
    rounds(this.#k1, this.state, false);
    rounds(this.#k2, this.state, true);
    rounds(this.#k3, this.state, false);
    permOut(this.state, dst, dstOff);
  }

  decryptInto(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
    checkBlock(src, srcOff);
    checkBlock(dst, dstOff);
    permIn(src, srcOff, this.state);
    rounds(this.#k3, this.state, true);
    rounds(this.#k2, this.state, false);
    rounds(this.#k1, this.state, true);
    permOut(this.state, dst, dstOff);
  }
}

/** A 3DES key as bytes or as a prepared cipher (whose key schedule is reused). */
export type TripleDesKey = Uint8Array | TripleDes;

export function tripleDes(key: TripleDesKey): TripleDes {
  return key instanceof TripleDes ? key : new TripleDes(key);
}

/** A copy of the key with each byte's low bit set so the byte has an odd number of 1 bits. */
export function adjustOddParity(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const b = key[i]! & 0xfe;
    out[i] = b | (popcount8(b) % 2 === 0 ? 1 : 0);
  }
  return out;
}

/** True when every byte has an odd number of 1 bits. */
export function hasOddParity(key: Uint8Array): boolean {
  for (const b of key) if (popcount8(b) % 2 === 0) return false;
  return true;
}

function popcount8(b: number): number {
  let n = 0;
  for (let v = b; v !== 0; v &= v - 1) n++;
  return n;
}

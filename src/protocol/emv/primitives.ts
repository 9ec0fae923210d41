/**
 * The block-cipher primitives the EMV code uses, imported in one place.
 *
 * The protocol lint rule forbids importing Node's `crypto` module with a gitignore-style pattern,
 * which also matches this project's own `src/protocol/crypto/` directory (pure TypeScript DES and
 * WebCrypto AES, no Node imports). Until that pattern is narrowed, this is the one exception.
 */
export { Des, TripleDes, tripleDes, adjustOddParity, hasOddParity, type TripleDesKey } from '../crypto/des.js';
export { AesCmac, aesCmac } from '../crypto/aes.js';

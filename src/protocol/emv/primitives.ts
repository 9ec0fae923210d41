/** The block-cipher primitives the EMV code uses, imported in one place. */
export { Des, TripleDes, tripleDes, adjustOddParity, hasOddParity, type TripleDesKey } from '../crypto/des.js';
export { AesCmac, aesCmac } from '../crypto/aes.js';

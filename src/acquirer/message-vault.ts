import type { Database } from '../infra/db/database.js';
import { EnvelopeCipher } from '../infra/keys/envelope.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';

/** First byte of a sealed message (EnvelopeCipher's blob version). */
const SEALED = 0x01;
/** First byte of a message stored in clear before sealing began: its ASCII MTI starts with '0'. */
const PLAIN_MTI = 0x30;

/** Where a stored message lives: its column and row, bound to the ciphertext (AAD) so a blob cannot be moved to another row. */
export type MessageColumn = 'authorizations.forwarded' | 'authorizations.response' | 'reversals.message' | 'refunds.message';

/**
 * The ISO 8583 messages the acquirer keeps to answer, reverse and refund with carry the token number
 * (DE 2): a payment token is kept as a card number is (PCI DSS 3.5, EMVCo tokenisation). Each is
 * sealed on its way into the database under the acquirer's envelope keys (`acquirer.data_keys`,
 * wrapped by the KEK) and opened on its way out, so no token number is at rest in clear. Rows stored
 * before sealing began are read as they are (see migration 0011).
 */
export class MessageVault {
  readonly #cipher: EnvelopeCipher;
  #ready: Promise<unknown> | undefined;

  constructor(db: Database, kek: KeyEncryptionKeys) {
    this.#cipher = new EnvelopeCipher(db, 'acquirer.data_keys', kek);
  }

  /**
   * The first seal of a process reads (or creates) the active data key once, not once per concurrent
   * message; a process that lost the race to create it reads the winner's.
   */
  #warm(): Promise<unknown> {
    const once = () => this.#cipher.encrypt(new Uint8Array(0), 'acquirer:warm-up');
    this.#ready ??= once()
      .catch(once)
      .catch((err: unknown) => {
        this.#ready = undefined;
        throw err;
      });
    return this.#ready;
  }

  /**
   * Reads the data keys before the acquirer serves anything: messages are sealed and opened inside its
   * transactions, where the embedded database's single connection could not also read a key.
   */
  async init(): Promise<void> {
    await this.#cipher.preload();
    await this.#warm();
  }

  async seal(message: Uint8Array, column: MessageColumn, rowId: string): Promise<Buffer> {
    await this.#warm();
    return this.#cipher.encrypt(message, context(column, rowId));
  }

  async open(stored: Uint8Array, column: MessageColumn, rowId: string): Promise<Uint8Array> {
    const bytes = Buffer.from(stored);
    if (bytes[0] === SEALED) return new Uint8Array(await this.#cipher.decrypt(bytes, context(column, rowId)));
    if (bytes[0] === PLAIN_MTI) return new Uint8Array(bytes);
    throw new Error(`acquirer.${column} of ${rowId} is neither a sealed nor an ISO 8583 message`);
  }

  /** open() for a nullable column. */
  async openNullable(stored: Uint8Array | null, column: MessageColumn, rowId: string): Promise<Uint8Array | null> {
    return stored === null ? null : this.open(stored, column, rowId);
  }
}

function context(column: MessageColumn, rowId: string): string {
  return `acquirer.${column}:${rowId}`;
}

import type { DeviceStorage } from '../../../src/device/storage.js';

/**
 * The device storage interface on IndexedDB: what the Secure Element, the Secure Enclave and the wallet
 * keep survives a reload. IndexedDB stores values by structured clone, CryptoKey objects included, and a
 * non-extractable key stays non-extractable: the page can use it but never read its bytes.
 */
const STORE = 'slots';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export class IndexedDbStorage implements DeviceStorage {
  readonly #db: Promise<IDBDatabase>;

  constructor(readonly name: string) {
    this.#db = new Promise((resolve, reject) => {
      const open = indexedDB.open(name, 1);
      open.onupgradeneeded = () => {
        if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE);
      };
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error ?? new Error('IndexedDB could not be opened'));
      open.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
    });
  }

  async get(key: string): Promise<unknown> {
    const db = await this.#db;
    return request(db.transaction(STORE, 'readonly').objectStore(STORE).get(key));
  }

  async put(key: string, value: unknown): Promise<void> {
    const db = await this.#db;
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put(value, key);
    await done(tx);
  }

  async delete(key: string): Promise<void> {
    const db = await this.#db;
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete(key);
    await done(tx);
  }

  async keys(): Promise<string[]> {
    const db = await this.#db;
    const keys = await request(db.transaction(STORE, 'readonly').objectStore(STORE).getAllKeys());
    return keys.filter((k): k is string => typeof k === 'string');
  }

  async close(): Promise<void> {
    (await this.#db).close();
  }

  /** Removes a whole device (its SE keys and cards with it). */
  static async destroy(name: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.deleteDatabase(name);
      req.onsuccess = () => resolve();
      req.onerror = () => reject(req.error ?? new Error('IndexedDB could not be deleted'));
      req.onblocked = () => resolve();
    });
  }
}

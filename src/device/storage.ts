/**
 * Where device modules keep their state. Values are kept by structured-clone semantics, like
 * IndexedDB: plain data, Uint8Arrays and CryptoKey objects (a non-extractable key stays
 * non-extractable in storage). The browser app adds an IndexedDB implementation of the same interface.
 */
export interface DeviceStorage {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

/** In-memory storage (tests, CLI). Clones on the way in and out, so callers never share objects with it. */
export class MemoryStorage implements DeviceStorage {
  readonly #values = new Map<string, unknown>();

  async get(key: string): Promise<unknown> {
    const value = this.#values.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  async put(key: string, value: unknown): Promise<void> {
    this.#values.set(key, structuredClone(value));
  }

  async delete(key: string): Promise<void> {
    this.#values.delete(key);
  }

  async keys(): Promise<string[]> {
    return [...this.#values.keys()];
  }
}

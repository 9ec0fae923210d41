/**
 * A value that must never be printed: card numbers, CVVs, passwords, keys. It prints masked through
 * every path a value usually leaks by (String(), template literals, JSON.stringify, console.log /
 * util.inspect) and gives up its content only through reveal(). Log redaction is the second layer.
 */
const inspect = Symbol.for('nodejs.util.inspect.custom');

export class Secret {
  readonly #value: string;
  readonly #masked: string;

  constructor(value: string, mask: (value: string) => string = () => '[redacted]') {
    this.#value = value;
    this.#masked = mask(value);
  }

  /** A card number: shows first 6 and last 4 at most (PCI DSS 3.4.1). */
  static pan(pan: string): Secret {
    return new Secret(pan, (v) => (v.length >= 13 ? `${v.slice(0, 6)}${'*'.repeat(v.length - 10)}${v.slice(-4)}` : '[redacted]'));
  }

  reveal(): string {
    return this.#value;
  }

  get length(): number {
    return this.#value.length;
  }

  toString(): string {
    return this.#masked;
  }

  toJSON(): string {
    return this.#masked;
  }

  [inspect](): string {
    return `Secret(${this.#masked})`;
  }
}

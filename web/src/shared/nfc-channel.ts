import { fromHex, toHex } from '../../../src/protocol/bytes.js';

/**
 * The "radio" between a terminal tab and a wallet tab of the same browser profile: a BroadcastChannel.
 * The reader switches its field on (broadcast until a phone answers); a phone held near it presents
 * itself; the reader selects the first phone and exchanges APDUs with it only, one command and one
 * response at a time, as ISO/IEC 14443-4 would. The reader's kernel sees a plain ApduLink.
 */
export const NFC_CHANNEL = 'tessera-nfc/1';

export interface FieldInfo {
  tapId: string;
  merchant: string;
  /** Minor units. */
  amount: number;
  currency: string;
  terminalId: string;
  /** The reader's merchant category (an express transit card answers only at transit readers). */
  mcc: string;
}

export type NfcMessage =
  | ({ t: 'field' } & FieldInfo)
  | { t: 'field-off'; tapId: string }
  | { t: 'present'; tapId: string; phoneId: string; deviceName: string }
  | { t: 'select'; tapId: string; phoneId: string }
  | { t: 'c-apdu'; tapId: string; phoneId: string; seq: number; hex: string }
  | { t: 'r-apdu'; tapId: string; phoneId: string; seq: number; hex: string }
  | { t: 'result'; tapId: string; phoneId: string; approved: boolean; text: string };

function isMessage(v: unknown): v is NfcMessage {
  return typeof v === 'object' && v !== null && typeof (v as { t?: unknown }).t === 'string' && typeof (v as { tapId?: unknown }).tapId === 'string';
}

export function newId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(8))).toLowerCase();
}

/** A link to the selected phone (the kernel's ApduLink). */
export interface PhoneLink {
  phoneId: string;
  deviceName: string;
  transceive(command: Uint8Array): Promise<Uint8Array>;
}

/** The reader's side. */
export class ReaderField {
  readonly #channel = new BroadcastChannel(NFC_CHANNEL);
  readonly #listeners = new Set<(m: NfcMessage) => void>();

  constructor() {
    this.#channel.onmessage = (e: MessageEvent) => {
      if (isMessage(e.data)) for (const l of [...this.#listeners]) l(e.data);
    };
  }

  /** Field on until a phone presents itself (or `signal` aborts / the time runs out: null). */
  waitForPhone(info: FieldInfo, timeoutMs: number, signal?: AbortSignal): Promise<PhoneLink | null> {
    return new Promise((resolve) => {
      const send = () => this.#channel.postMessage({ t: 'field', ...info } satisfies NfcMessage);
      const timer = setInterval(send, 1000);
      const deadline = setTimeout(() => finish(null), timeoutMs);
      const onAbort = () => finish(null);
      signal?.addEventListener('abort', onAbort);
      const listener = (m: NfcMessage) => {
        if (m.t !== 'present' || m.tapId !== info.tapId) return;
        this.#channel.postMessage({ t: 'select', tapId: info.tapId, phoneId: m.phoneId } satisfies NfcMessage);
        finish(this.#link(info.tapId, m.phoneId, m.deviceName));
      };
      const finish = (link: PhoneLink | null) => {
        clearInterval(timer);
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        this.#listeners.delete(listener);
        if (!link) this.#channel.postMessage({ t: 'field-off', tapId: info.tapId } satisfies NfcMessage);
        resolve(link);
      };
      this.#listeners.add(listener);
      send();
    });
  }

  #link(tapId: string, phoneId: string, deviceName: string): PhoneLink {
    let seq = 0;
    return {
      phoneId,
      deviceName,
      transceive: (command) =>
        new Promise<Uint8Array>((resolve, reject) => {
          const n = ++seq;
          // A phone taken away from the reader stops answering: the kernel sees a link failure.
          const timer = setTimeout(() => {
            this.#listeners.delete(listener);
            reject(new Error('the phone left the field'));
          }, 5000);
          const listener = (m: NfcMessage) => {
            if (m.t !== 'r-apdu' || m.tapId !== tapId || m.phoneId !== phoneId || m.seq !== n) return;
            clearTimeout(timer);
            this.#listeners.delete(listener);
            try {
              resolve(fromHex(m.hex));
            } catch (err) {
              reject(err instanceof Error ? err : new Error('bad response'));
            }
          };
          this.#listeners.add(listener);
          this.#channel.postMessage({ t: 'c-apdu', tapId, phoneId, seq: n, hex: toHex(command) } satisfies NfcMessage);
        }),
    };
  }

  /** Tells the phone how the payment ended (what a phone learns from the reader's UI; the platform tells it too). */
  result(tapId: string, phoneId: string, approved: boolean, text: string): void {
    this.#channel.postMessage({ t: 'result', tapId, phoneId, approved, text } satisfies NfcMessage);
  }

  fieldOff(tapId: string): void {
    this.#channel.postMessage({ t: 'field-off', tapId } satisfies NfcMessage);
  }

  close(): void {
    this.#listeners.clear();
    this.#channel.close();
  }
}

/** The phone's side: answers the reader's APDUs with its Secure Element. */
export class PhoneAntenna {
  readonly #channel = new BroadcastChannel(NFC_CHANNEL);
  readonly phoneId = newId();
  #selected: string | null = null;

  constructor(
    private readonly handlers: {
      deviceName: () => string;
      processApdu: (command: Uint8Array) => Promise<Uint8Array>;
      /** A reader's field is on (repeats every second while it waits). */
      onField: (info: FieldInfo) => void;
      onFieldOff: (tapId: string) => void;
      /** The reader chose this phone; the dialogue starts. */
      onSelected: (tapId: string) => void;
      onApdu?: (tapId: string) => void;
      onResult: (tapId: string, approved: boolean, text: string) => void;
    },
  ) {
    this.#channel.onmessage = (e: MessageEvent) => {
      if (isMessage(e.data)) void this.#on(e.data);
    };
  }

  /** Holds the phone near the reader of that tap. */
  present(tapId: string): void {
    this.#channel.postMessage({ t: 'present', tapId, phoneId: this.phoneId, deviceName: this.handlers.deviceName() } satisfies NfcMessage);
  }

  async #on(m: NfcMessage): Promise<void> {
    switch (m.t) {
      case 'field':
        if (this.#selected !== m.tapId) this.handlers.onField(m);
        return;
      case 'field-off':
        this.handlers.onFieldOff(m.tapId);
        return;
      case 'select':
        if (m.phoneId === this.phoneId) {
          this.#selected = m.tapId;
          this.handlers.onSelected(m.tapId);
        } else {
          this.handlers.onFieldOff(m.tapId);
        }
        return;
      case 'c-apdu': {
        if (m.phoneId !== this.phoneId || m.tapId !== this.#selected) return;
        this.handlers.onApdu?.(m.tapId);
        const response = await this.handlers.processApdu(fromHex(m.hex));
        this.#channel.postMessage({ t: 'r-apdu', tapId: m.tapId, phoneId: this.phoneId, seq: m.seq, hex: toHex(response) } satisfies NfcMessage);
        return;
      }
      case 'result':
        if (m.phoneId === this.phoneId) this.handlers.onResult(m.tapId, m.approved, m.text);
        return;
      default:
        return;
    }
  }

  close(): void {
    this.#channel.close();
  }
}

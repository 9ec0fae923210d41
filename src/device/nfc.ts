/**
 * The NFC link between a contactless reader and the phone: one command APDU out, one response APDU
 * back (ISO/IEC 14443-4 carries them as they are). `seLink` connects a reader in the same process to
 * a Secure Element; a browser page or a WebSocket bridge can implement the same interface.
 * `tracingLink` reports every APDU, hex, as the scenarios' trace lines:
 * `{ protocol: 'apdu', from: 'terminal', to: 'device', hex }` and back from the device.
 * APDUs of a tap carry the token number (track 2 equivalent, PAN): a trace is as sensitive as the
 * tap itself, and never carries a key.
 */
import { toHex } from '../protocol/bytes.js';

export interface ApduLink {
  /** Sends one command APDU and answers the response APDU (data ‖ SW1 SW2). */
  transceive(command: Uint8Array): Promise<Uint8Array>;
}

/** The part of the Secure Element the link needs. */
export interface ApduResponder {
  processApdu(command: Uint8Array): Promise<Uint8Array>;
}

/** An in-memory link to a Secure Element (or anything else answering APDUs). */
export function seLink(se: ApduResponder): ApduLink {
  return {
    async transceive(command: Uint8Array): Promise<Uint8Array> {
      // Copies both ways, as a radio link would: neither side keeps a reference to the other's bytes.
      const response = await se.processApdu(Uint8Array.from(command));
      return Uint8Array.from(response);
    },
  };
}

export type ApduParty = 'terminal' | 'device';

export interface ApduTrace {
  protocol: 'apdu';
  from: ApduParty;
  to: ApduParty;
  /** Upper-case hex of the whole APDU (a response includes its status word). */
  hex: string;
}

/**
 * Wraps a link so every command (terminal → device) and response (device → terminal) is reported to
 * `onTrace`. A failing callback never breaks the tap; a failing link still fails the call.
 */
export function tracingLink(link: ApduLink, onTrace: (trace: ApduTrace) => void): ApduLink {
  const report = (trace: ApduTrace): void => {
    try {
      onTrace(trace);
    } catch {
      // Tracing is diagnostics: it must not change what the reader and the phone do.
    }
  };
  return {
    async transceive(command: Uint8Array): Promise<Uint8Array> {
      report({ protocol: 'apdu', from: 'terminal', to: 'device', hex: toHex(command) });
      const response = await link.transceive(command);
      if (response instanceof Uint8Array) report({ protocol: 'apdu', from: 'device', to: 'terminal', hex: toHex(response) });
      return response;
    },
  };
}

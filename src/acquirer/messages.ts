/**
 * The acquirer's message shaping, pure: what it adds to a terminal's 0100 before the network sees it,
 * the answers it gives on its own (12, 13, 14, 91, 94, 96), the 0400 it owes after a timeout, and the
 * view of a message that may go to a log.
 */
import { createHash } from 'node:crypto';
import { describeMessage, packMessage, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { maskPan } from '../protocol/cards/index.js';

/** An authorization without these cannot be routed, deduplicated, checked against its domain (DE 22) or cleared. */
export const REQUIRED_0100 = [2, 3, 4, 7, 11, 22, 41, 42, 49] as const;

/** Processing codes (DE 3) the acquirer takes: purchases. */
export const PROCESSING_CODES: readonly string[] = ['000000'];

/** Fields a response echoes from its request (ISO 8583: the response repeats the request's keys). */
const ECHO = [2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42, 49, 90] as const;

/** Never kept after authorization (PCI DSS 3.3.1) and never in a log: track 2, PIN block, ICC data. */
const NOT_KEPT = [35, 52, 55] as const;

/** What a log line may show of a message (DE 2 masked by describeMessage); DE 48 and 55 never. */
const LOGGED = [2, 3, 4, 7, 11, 18, 22, 25, 32, 37, 38, 39, 41, 42, 49, 90] as const;

export function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** DE 7: MMDDhhmmss in UTC. */
export function transmissionDateTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/**
 * DE 37 assigned by the acquirer: the year's last digit, the day of the year (UTC, 3 digits) and eight
 * digits of the acquirer's counter: unique unless 10^8 authorizations share one day.
 */
export function retrievalReference(d: Date, counter: number): string {
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  const day = Math.floor((d.getTime() - start) / 86_400_000) + 1;
  return `${d.getUTCFullYear() % 10}${String(day).padStart(3, '0')}${String(counter % 100_000_000).padStart(8, '0')}`;
}

export function traceNumber(counter: number): string {
  return String(counter % 1_000_000).padStart(6, '0');
}

export interface OriginalData {
  mti: string;
  stan: string;
  transmitted: string;
  acquirerId: string;
  forwardingId: string;
}

/**
 * DE 90, n 42: original MTI (4) ‖ STAN (6) ‖ transmission date-time (10) ‖ acquiring institution id
 * (11, zero-filled on the left) ‖ forwarding institution id (11; zeros: the acquirer sends no DE 33).
 */
export function originalDataElements(o: OriginalData): string {
  return `${o.mti}${o.stan}${o.transmitted}${o.acquirerId.padStart(11, '0')}${o.forwardingId.padStart(11, '0')}`;
}

export function parseOriginalDataElements(de90: string): OriginalData | null {
  if (!/^\d{42}$/.test(de90)) return null;
  return { mti: de90.slice(0, 4), stan: de90.slice(4, 10), transmitted: de90.slice(10, 20), acquirerId: de90.slice(20, 31), forwardingId: de90.slice(31, 42) };
}

/** A response built by the acquirer itself: the request's keys echoed, DE 39, and any extra fields. */
export function localResponse(request: IsoMessage, responseMti: string, code: string, extra: Record<number, string> = {}): IsoMessage {
  const fields: Record<number, string | Uint8Array> = {};
  for (const n of ECHO) {
    const v = request.fields[n];
    if (v !== undefined) fields[n] = v;
  }
  return { mti: responseMti, fields: { ...fields, ...extra, 39: code } };
}

export function withoutSensitiveData(msg: IsoMessage): IsoMessage {
  const fields = { ...msg.fields };
  for (const n of NOT_KEPT) delete fields[n];
  return { mti: msg.mti, fields };
}

/** The forwarded 0100 as stored: packed without DE 35, 52, 55. */
export function packForStorage(msg: IsoMessage): Uint8Array {
  return packMessage(withoutSensitiveData(msg));
}

export function unpackStored(bytes: Uint8Array): IsoMessage {
  return unpackMessage(bytes);
}

/** A log view: a whitelist of fields, DE 2 as first six / last four; DE 55 only as its length. */
export function logView(msg: IsoMessage): { mti: string; fields: Record<string, string>; de55_bytes?: number } {
  const fields: Record<number, string | Uint8Array> = {};
  for (const n of LOGGED) {
    const v = msg.fields[n];
    if (v !== undefined) fields[n] = v;
  }
  const view = describeMessage({ mti: msg.mti, fields });
  const de55 = msg.fields[55];
  return de55 instanceof Uint8Array ? { ...view, de55_bytes: de55.length } : view;
}

/** DE 2 for storage and lists: first six and last four digits. */
export function maskedToken(pan: string): string {
  return maskPan(pan);
}

export function text(msg: IsoMessage, n: number): string | undefined {
  const v = msg.fields[n];
  return typeof v === 'string' ? v : undefined;
}

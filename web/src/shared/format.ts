import { currencyByAlpha, currencyByNumeric, formatAmount } from '../../../src/protocol/currency.js';
import { maskPan } from '../../../src/protocol/cards/index.js';

export { maskPan };

/** "12.50 USD" style, exact for the currency's minor units. */
export function money(minor: number, currency: string): string {
  const c = /^\d+$/.test(currency) ? currencyByNumeric(currency) : currencyByAlpha(currency);
  if (!c) return `${minor} ${currency}`;
  return `${formatAmount(minor, c)} ${c.alpha}`;
}

export const NETWORK_NAMES: Readonly<Record<string, string>> = { visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', discover: 'Discover' };

/** Any run of 13-19 digits in a text, shown as first 6 / last 4. */
export function maskNumbers(text: string): string {
  return text.replace(/\d{13,19}/g, (d) => maskPan(d));
}

export function shortTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A readable message for anything thrown (platform errors carry the catalogue message; device errors theirs). */
export function errorText(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; code?: unknown };
    if (typeof e.message === 'string' && e.message.length > 0) return maskNumbers(e.message);
    if (typeof e.code === 'string') return e.code;
  }
  return 'Something went wrong.';
}

export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

export function errorStatus(err: unknown): number | undefined {
  if (err && typeof err === 'object') {
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number') return status;
  }
  return undefined;
}

export function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** ISO 4217: numeric code (as in ISO 8583 DE49 and EMV 5F2A) ↔ alphabetic code, with minor-unit exponent. */
const TABLE: [alpha: string, numeric: string, exponent: number][] = [
  ['USD', '840', 2],
  ['EUR', '978', 2],
  ['GBP', '826', 2],
  ['CAD', '124', 2],
  ['AUD', '036', 2],
  ['CHF', '756', 2],
  ['JPY', '392', 0],
  ['SEK', '752', 2],
  ['NOK', '578', 2],
  ['DKK', '208', 2],
  ['SGD', '702', 2],
  ['HKD', '344', 2],
  ['NZD', '554', 2],
  ['MXN', '484', 2],
  ['BRL', '986', 2],
  ['INR', '356', 2],
  ['CNY', '156', 2],
  ['KRW', '410', 0],
  ['BHD', '048', 3],
];

const byAlpha = new Map(TABLE.map(([a, n, e]) => [a, { alpha: a, numeric: n, exponent: e }]));
const byNumeric = new Map(TABLE.map(([a, n, e]) => [n, { alpha: a, numeric: n, exponent: e }]));

export interface Currency {
  alpha: string;
  numeric: string;
  exponent: number;
}

export function currencyByAlpha(alpha: string): Currency | undefined {
  return byAlpha.get(alpha.toUpperCase());
}

/** Accepts '840' or '0840' (the 2-byte BCD form of 5F2A). */
export function currencyByNumeric(numeric: string): Currency | undefined {
  return byNumeric.get(numeric.padStart(4, '0').slice(1));
}

export const SUPPORTED_CURRENCIES = TABLE.map(([a]) => a);

/** Parses "12.34" into minor units for the currency, exactly (no floating point). */
export function parseAmount(text: string, currency: Currency): number | undefined {
  const m = /^(\d{1,12})(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined;
  const frac = m[2] ?? '';
  if (frac.length > currency.exponent) return undefined;
  const minor = Number(m[1]!) * 10 ** currency.exponent + Number(frac.padEnd(currency.exponent, '0') || '0');
  return Number.isSafeInteger(minor) ? minor : undefined;
}

export function formatAmount(minor: number, currency: Currency): string {
  if (currency.exponent === 0) return String(minor);
  const s = String(Math.abs(minor)).padStart(currency.exponent + 1, '0');
  return `${minor < 0 ? '-' : ''}${s.slice(0, -currency.exponent)}.${s.slice(-currency.exponent)}`;
}

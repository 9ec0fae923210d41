/**
 * ISO 4217 codes the sandbox's merchants may hold accounts in: alphabetic (the API, as the issuers
 * use) and numeric (DE 49 on the wire).
 */
export const CURRENCIES: Readonly<Record<string, string>> = {
  USD: '840',
  EUR: '978',
  GBP: '826',
  CAD: '124',
  AUD: '036',
  NZD: '554',
  JPY: '392',
  CHF: '756',
  SEK: '752',
  NOK: '578',
  DKK: '208',
  PLN: '985',
  CZK: '203',
  SGD: '702',
  HKD: '344',
  MXN: '484',
  BRL: '986',
  INR: '356',
};

const BY_NUMERIC: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(CURRENCIES).map(([a, n]) => [n, a]));

/** The alphabetic code of a DE 49 value, or the numeric code itself when the table does not know it. */
export function currencyAlpha(numeric: string): string {
  return BY_NUMERIC[numeric] ?? numeric;
}

/**
 * Amounts on the payment sheet as Safari shows them: the request's decimal string in the currency's
 * own format for the user's locale (symbol, grouping, the currency's minor digits): "$60.00", "£45.00",
 * "45,00 €" for de-DE. An amount Intl cannot format is shown as given, with its currency code.
 */
export function sheetAmount(amount: string, currency: string, locale?: string): string {
  const n = Number(amount);
  if (!Number.isFinite(n)) return `${amount} ${currency}`;
  try {
    const format = new Intl.NumberFormat(locale ?? (typeof navigator === 'undefined' ? undefined : navigator.language), { style: 'currency', currency });
    // More decimals than the currency has (a fraction of a cent) are shown rather than rounded away.
    const digits = /\.(\d+)$/.exec(amount)?.[1]?.length ?? 0;
    const min = format.resolvedOptions().minimumFractionDigits ?? 0;
    if (digits > min) return new Intl.NumberFormat(format.resolvedOptions().locale, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: Math.min(digits, 20) }).format(n);
    return format.format(n);
  } catch {
    return `${amount} ${currency}`;
  }
}

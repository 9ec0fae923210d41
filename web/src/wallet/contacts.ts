/**
 * The wallet's contacts: the addresses, e-mail addresses and phone numbers the user keeps for paying,
 * stored in this browser (the phone) per registered device, and what the payment sheet hands a
 * merchant from them: only the fields its request asks for (requiredShippingContactFields /
 * requiredBillingContactFields), and before authorization only the redacted shipping address Safari
 * gives (onshippingcontactselected: no name, street, e-mail or phone).
 */
export interface WalletContact {
  id: string;
  givenName: string;
  familyName: string;
  emailAddress: string;
  phoneNumber: string;
  addressLines: string[];
  locality: string;
  administrativeArea: string;
  postalCode: string;
  /** ISO 3166-1 alpha-2, upper case. */
  countryCode: string;
}

/** ApplePayJS.ApplePayPaymentContact: only the fields that are set. */
export type PaymentContact = Partial<Omit<WalletContact, 'id'>> & { country?: string };

export type ContactField = 'postalAddress' | 'name' | 'email' | 'phone' | 'phoneticName';

const KEY = 'tessera.wallet.contacts.';
const MAX_CONTACTS = 20;

function key(owner: string): string {
  return `${KEY}${owner}`;
}

function isContact(v: unknown): v is WalletContact {
  const c = v as Record<string, unknown> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    ['id', 'givenName', 'familyName', 'emailAddress', 'phoneNumber', 'locality', 'administrativeArea', 'postalCode', 'countryCode'].every((k) => typeof c[k] === 'string') &&
    Array.isArray(c.addressLines) &&
    c.addressLines.every((l) => typeof l === 'string')
  );
}

export function loadContacts(owner: string): WalletContact[] {
  try {
    const parsed = JSON.parse(localStorage.getItem(key(owner)) ?? '[]') as unknown;
    return Array.isArray(parsed) ? parsed.filter(isContact) : [];
  } catch {
    return [];
  }
}

/** Adds (or replaces, same id) a contact; the newest first. */
export function saveContact(owner: string, contact: Omit<WalletContact, 'id'> & { id?: string }): { contacts: WalletContact[]; saved: WalletContact } {
  const saved: WalletContact = {
    ...contact,
    id: contact.id ?? `ct_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    countryCode: contact.countryCode.trim().toUpperCase(),
    addressLines: contact.addressLines.map((l) => l.trim()).filter((l) => l.length > 0),
  };
  const contacts = [saved, ...loadContacts(owner).filter((c) => c.id !== saved.id)].slice(0, MAX_CONTACTS);
  localStorage.setItem(key(owner), JSON.stringify(contacts));
  return { contacts, saved };
}

function countryName(code: string): string | undefined {
  try {
    return new Intl.DisplayNames(['en'], { type: 'region' }).of(code);
  } catch {
    return undefined;
  }
}

/** The contact as the merchant receives it, limited to the requested fields. */
export function contactFor(c: WalletContact, fields: readonly string[]): PaymentContact {
  const out: PaymentContact = {};
  if (fields.includes('name')) Object.assign(out, { givenName: c.givenName, familyName: c.familyName });
  if (fields.includes('email')) out.emailAddress = c.emailAddress;
  if (fields.includes('phone')) out.phoneNumber = c.phoneNumber;
  if (fields.includes('postalAddress')) {
    Object.assign(out, { addressLines: [...c.addressLines], locality: c.locality, administrativeArea: c.administrativeArea, postalCode: c.postalCode, countryCode: c.countryCode });
    const country = countryName(c.countryCode);
    if (country) out.country = country;
  }
  return out;
}

/** What onshippingcontactselected carries before the user authorizes: the address without street or person. */
export function redactedContact(c: WalletContact): PaymentContact {
  const out: PaymentContact = { locality: c.locality, administrativeArea: c.administrativeArea, postalCode: c.postalCode, countryCode: c.countryCode };
  const country = countryName(c.countryCode);
  if (country) out.country = country;
  return out;
}

/** The requested fields this contact cannot fill (the sheet asks the user to complete them). */
export function missingFields(c: WalletContact, fields: readonly string[]): ContactField[] {
  const missing: ContactField[] = [];
  if (fields.includes('name') && (!c.givenName.trim() || !c.familyName.trim())) missing.push('name');
  if (fields.includes('email') && !/^[^\s@]+@[^\s@]+$/.test(c.emailAddress)) missing.push('email');
  if (fields.includes('phone') && !/[0-9]{4,}/.test(c.phoneNumber.replace(/[\s()+-]/g, ''))) missing.push('phone');
  if (fields.includes('postalAddress') && (c.addressLines.length === 0 || !c.locality.trim() || !c.postalCode.trim() || !/^[A-Z]{2}$/.test(c.countryCode))) missing.push('postalAddress');
  return missing;
}

/** One line for a picker: name and the address's first line and town. */
export function contactLabel(c: WalletContact): string {
  const name = `${c.givenName} ${c.familyName}`.trim();
  const place = [c.addressLines[0], c.locality, c.countryCode].filter((x) => x && x.length > 0).join(', ');
  return [name, place].filter((x) => x.length > 0).join(' — ') || c.emailAddress || c.phoneNumber;
}

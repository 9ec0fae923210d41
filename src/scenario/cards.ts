/** The well-known public test cards the sandbox's issuers hold; documentation and scenarios use them. */
const year = new Date().getUTCFullYear() + 3;

export const SANDBOX_DEFAULT_CARDS = {
  visa: { pan: '4111111111111111', expMonth: 12, expYear: year, cvv: '123', name: 'Ada Lovelace' },
  mastercard: { pan: '5555555555554444', expMonth: 12, expYear: year, cvv: '123', name: 'Ada Lovelace' },
  amex: { pan: '378282246310005', expMonth: 12, expYear: year, cvv: '1234', name: 'Ada Lovelace' },
  discover: { pan: '6011111111111117', expMonth: 12, expYear: year, cvv: '123', name: 'Ada Lovelace' },
} as const;

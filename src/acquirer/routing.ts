import { detectNetwork, luhnCheck, NETWORKS, TOKEN_BIN_RANGES, type Network } from '../protocol/cards/index.js';

/**
 * The network an authorization goes to, by the number in DE 2: a token BIN names its network (the
 * sandbox's token ranges, src/protocol/cards); a card number (a physical card tapped) routes by its
 * card BIN. Null when no network takes part for the number: the acquirer answers 14 itself.
 */
export function brandForPan(pan: string): Network | null {
  if (!isWellFormedPan(pan)) return null;
  const bin = pan.slice(0, 6);
  for (const n of NETWORKS) if (TOKEN_BIN_RANGES[n].bin === bin) return n;
  return detectNetwork(pan);
}

/** 13 to 19 digits passing the Luhn check: anything else is not a card or token number at all. */
export function isWellFormedPan(pan: string): boolean {
  return /^\d{13,19}$/.test(pan) && luhnCheck(pan);
}

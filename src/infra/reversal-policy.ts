/**
 * The one repeat policy for every reversal a party owes: the acquirer's 0400s to a network and a
 * network's 0400/0420s to an issuer. A reversal is store-and-forward (ISO 8583:1987 §9, the "repeat"
 * messages 0401/0421): it is sent until the receiver acknowledges it, with a pause that doubles after
 * each failed attempt (first `baseDelayMs`, at most `maxDelayMs`); after `maxAttempts` attempts (about
 * 25 minutes with the defaults) it is marked `failed` and logged as an error, and settling it becomes
 * the operator's exception handling (the hold it was meant to release expires at the issuer in any
 * case). Tests shorten the delays; the shape stays.
 */
export interface ReversalRetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const REVERSAL_RETRY: Readonly<ReversalRetryPolicy> = { maxAttempts: 12, baseDelayMs: 1000, maxDelayMs: 5 * 60_000 };

/** The pause before attempt `attempts + 1`, after `attempts` failed ones. */
export function reversalBackoffMs(policy: ReversalRetryPolicy, attempts: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
}

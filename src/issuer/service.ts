import { randomBytes, randomInt } from 'node:crypto';
import { AppError } from '../infra/errors.js';
import type { Database, Sql } from '../infra/db/database.js';
import { isUniqueViolation } from '../infra/db/database.js';
import { newId } from '../infra/ids.js';
import { EnvelopeCipher } from '../infra/keys/envelope.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { detectNetwork, luhnCheckDigit, maskPan, PAN_LENGTHS, validatePan, type Network } from '../protocol/cards/index.js';
import { Secret } from '../protocol/secret.js';
import './card-errors.js';
import { AuthorizationEngine, type MessageOutcome } from './authorizations.js';
import { IssuerRefunds } from './refunds.js';
import type { IsoMessage } from '../protocol/iso8583/iso8583.js';
import { cvvLength, IssuerHsm } from './hsm.js';
import { authorizationRepo, issuerRepo as repo, type CardRow, type CardStatus, type Decision, type IdvPolicy, type IssuerRow, type VerificationRow, type VerificationStatus } from './repository.js';
import { SANDBOX_CARDS, type SandboxCard, type SandboxIssuer } from './sandbox-cards.js';

/** One-time codes: 6 digits, 10 minutes, 3 wrong tries per verification, at most 5 sent. */
export const OTP_DIGITS = 6;
export const OTP_TTL_MS = 10 * 60 * 1000;
export const OTP_MAX_ATTEMPTS = 3;
export const OTP_MAX_SENDS = 5;
/** Failed CVV checks per card that turn every verification red, over this window. */
export const CVV_MAX_FAILURES = 5;
export const CVV_FAILURE_WINDOW_MS = 24 * 3600 * 1000;

/** Runs one unit of work in one transaction: the database's by default, a route's recorded step otherwise. */
export type TxRunner = <T>(fn: (tx: Sql) => Promise<T>) => Promise<T>;

/**
 * Who is calling. A network may call any issuer (it routes by BIN) but continues only the verifications
 * it started; the issuer's own key (role issuer, owner = the issuer id) sees all of that issuer's.
 */
export interface Caller {
  requester: string;
  issuerAdmin: boolean;
  /** For a network key whose owner id names a brand: the only brand it may ask about. */
  network?: Network;
}

export interface VerifyCardInput {
  pan: Secret;
  expMonth: number;
  expYear: number;
  cvv: Secret;
  network: Network;
  tokenRequestorId: string;
  tokenRef: string;
  device: { id: string; kind: 'phone' | 'watch' };
  deviceScore: number;
}

export interface VerificationMethod {
  id: 'sms' | 'email';
  type: 'sms' | 'email';
  destination: string;
}

export interface CardVerification {
  id: string;
  object: 'card_verification';
  decision: Decision;
  reasons: string[];
  status: VerificationStatus;
  methods: VerificationMethod[];
  card: { last4: string; product: 'credit' | 'debit'; par_seed: string; account_id: string; issuer_id: string; issuer_name: string };
}

export interface OtpSent {
  id: string;
  object: 'card_verification';
  sent: true;
  method_id: 'sms' | 'email';
  expires_at: string;
}

export interface OtpConfirmed {
  id: string;
  object: 'card_verification';
  decision: 'green';
  status: 'verified';
}

export interface SandboxMessage {
  id: string;
  object: 'sandbox_message';
  channel: 'sms' | 'email';
  destination: string;
  body: string;
  created_at: string;
}

export interface SandboxCardView {
  object: 'sandbox_card';
  key: string;
  network: Network;
  /** The full number only for the well-known public test numbers. */
  number: string | null;
  masked: string;
  last4: string;
  product: 'credit' | 'debit';
  purpose: string;
  outcome: string;
  cvv: string;
  expiry: string;
}

export interface IssueCardInput {
  issuerId: string;
  network: Network;
  product: 'credit' | 'debit';
  holderName: string;
  currency?: string;
  postedBalance?: bigint;
  creditLimit?: bigint;
  expMonth: number;
  expYear: number;
  phone?: string | null;
  email?: string | null;
  idvPolicy?: IdvPolicy;
  status?: CardStatus;
}

export interface IssuedCard {
  cardId: string;
  accountId: string;
  last4: string;
  expMonth: number;
  expYear: number;
  /** Shown once, as on the card mailer; the issuer keeps the number only encrypted and the CVV not at all. */
  pan: Secret;
  cvv: Secret;
}

/**
 * The result of one transaction: either a value, or a catalogue error to answer with *after* the
 * transaction committed (a wrong CVV or code is counted even though the caller gets an error). Plain
 * JSON, so a route's recovery point can store it.
 */
type Outcome<T> = { ok: true; value: T } | { ok: false; code: string; message?: string; param?: string };

function fail(code: string, options: { message?: string; param?: string } = {}): { ok: false; code: string; message?: string; param?: string } {
  return { ok: false, code, ...options };
}

function unwrap<T>(o: Outcome<T>): T {
  if (o.ok) return o.value;
  throw new AppError(o.code, { ...(o.message ? { message: o.message } : {}), ...(o.param ? { param: o.param } : {}) });
}

export function maskPhone(phone: string): string {
  return `•••• ${phone.slice(-4)}`;
}

export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, Math.min(1, at))}•••${email.slice(at)}`;
}

/** 25 characters of [0-9A-Z], uniformly (rejection sampling). */
function parSeed(): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let out = '';
  while (out.length < 25) for (const b of randomBytes(32)) if (b < 252 && out.length < 25) out += alphabet[b % 36];
  return out;
}

function methodsOf(card: { cardholder_phone: string | null; cardholder_email: string | null }): VerificationMethod[] {
  const methods: VerificationMethod[] = [];
  if (card.cardholder_phone) methods.push({ id: 'sms', type: 'sms', destination: maskPhone(card.cardholder_phone) });
  if (card.cardholder_email) methods.push({ id: 'email', type: 'email', destination: maskEmail(card.cardholder_email) });
  return methods;
}

/** A card is good through the last day of its expiry month (UTC). */
function expiryHasPassed(month: number, year: number, now: Date): boolean {
  const y = now.getUTCFullYear();
  return year < y || (year === y && month < now.getUTCMonth() + 1);
}

/**
 * An account's money, minor units of `currency`. Sign convention: `posted` is what the holder HAS (a
 * debit account in funds is positive; a credit account that owes is negative); `credit_limit` >= 0;
 * `available = posted + credit_limit - holds` (holds: the active authorization holds).
 */
export interface AccountBalance {
  object: 'account_balance';
  id: string;
  issuer_id: string;
  currency: string;
  posted: number;
  credit_limit: number;
  holds: number;
  available: number;
}

/** The issuer's invariants after any crash or timeout; `ok` when every list is empty and the total is 0. */
export interface InvariantReport {
  ok: boolean;
  /** Sum of every ledger entry: 0. */
  ledger_total: string;
  /** Postings (an authorization's hold, a reversal's release) whose entries do not sum to 0. */
  unbalanced_transactions: { transaction_id: string; total: string }[];
  /** Cards whose active holds differ from their approved, not reversed (not captured) authorizations. */
  hold_mismatches: { card_id: string; active_holds: number; active_amount: string; open_approvals: number; open_amount: string }[];
  /** Accounts whose running `held` total differs from the sum of their active holds. */
  held_total_mismatches: number;
  /** Accounts whose ledger entries do not add up to their active holds. */
  ledger_hold_mismatches: { account_id: string; ledger_held: string; active_holds: string }[];
}

export class IssuerService {
  readonly cipher: EnvelopeCipher;
  readonly hsm: IssuerHsm;
  readonly authorizations: AuthorizationEngine;
  readonly refunds: IssuerRefunds;
  readonly #issuers = new Map<string, IssuerRow>();
  readonly #tx: TxRunner;

  constructor(
    private readonly db: Database,
    kek: KeyEncryptionKeys,
    readonly clock: () => Date = () => new Date(),
  ) {
    this.cipher = new EnvelopeCipher(db, 'issuer.data_keys', kek);
    this.hsm = new IssuerHsm(kek);
    this.authorizations = new AuthorizationEngine(db, this.cipher, () => this.clock());
    this.refunds = new IssuerRefunds(db, this.cipher);
    this.#tx = (fn) => db.tx(fn);
  }

  /** The issuer, or 404: unknown issuer ids are "no such object". */
  async requireIssuer(issuerId: string): Promise<IssuerRow> {
    const known = this.#issuers.get(issuerId);
    if (known) return known;
    const row = await repo.issuerById(this.db, issuerId);
    if (!row) throw new AppError('resource_missing', { param: 'issuer_id', message: 'No such issuer.' });
    this.#issuers.set(issuerId, row);
    return row;
  }

  // --- Setup ------------------------------------------------------------------------------------------

  async ensureIssuer(issuer: SandboxIssuer): Promise<void> {
    await this.db.tx(async (tx) => {
      await repo.upsertIssuer(tx, { id: issuer.id, name: issuer.name, country: issuer.country });
      for (const bin of issuer.bins) await repo.insertBinRange(tx, { prefix: bin.prefix, issuerId: issuer.id, network: bin.network });
    });
    await this.db.tx((tx) => this.hsm.ensureKeys(tx, issuer.id));
    this.#issuers.delete(issuer.id);
  }

  /** Creates a documented test card unless it exists. Its CVV is the published one, kept only as an HMAC. */
  async ensureSandboxCard(card: SandboxCard): Promise<'created' | 'exists'> {
    const pan = Secret.pan(card.number);
    const fingerprint = await this.cipher.fingerprint(pan.reveal());
    if (await repo.cardExists(this.db, fingerprint)) return 'exists';
    const cardId = newId('icard', this.clock().getTime());
    // Outside the transaction: the cipher may create its data key in a transaction of its own.
    const panEncrypted = await this.cipher.encrypt(pan.reveal(), `issuer:pan:${cardId}`);
    try {
      await this.db.tx(async (tx) => {
        const accountId = newId('acct', this.clock().getTime());
        await repo.insertAccount(tx, {
          id: accountId,
          issuerId: card.issuerId,
          holderName: card.account.holderName,
          currency: card.account.currency,
          postedBalance: BigInt(card.account.postedBalance),
          creditLimit: BigInt(card.account.creditLimit),
        });
        await repo.insertCard(tx, {
          id: cardId,
          accountId,
          network: card.network,
          panEncrypted,
          panFingerprint: fingerprint,
          last4: card.number.slice(-4),
          expMonth: card.expMonth,
          expYear: card.expYear,
          product: card.product,
          status: card.status,
          parSeed: parSeed(),
          cvvMethod: 'sandbox_fixed',
          sandboxCvvMac: await this.hsm.sandboxCvvMac(tx, card.issuerId, cardId, new Secret(card.cvv)),
          acceptAnyFutureExpiry: card.acceptAnyFutureExpiry,
          idvPolicy: card.idvPolicy,
          phone: card.phone,
          email: card.email,
        });
      });
    } catch (err) {
      // Another process seeding at the same moment created it first.
      if (isUniqueViolation(err, 'cards_pan_fingerprint_unique')) return 'exists';
      throw err;
    }
    return 'created';
  }

  /**
   * Issues a card the way a bank does: a fresh number in one of the issuer's ranges, the CVV computed
   * under the issuer's CVV key. Both are handed back once (the card mailer) and never stored in clear.
   */
  async issueCard(input: IssueCardInput): Promise<IssuedCard> {
    await this.requireIssuer(input.issuerId);
    const bin = (await repo.binRanges(this.db, input.issuerId)).find((b) => b.network === input.network);
    if (!bin) throw new AppError('card_not_supported', { message: 'This issuer does not issue cards of that network.' });
    // Sixteen digits (fifteen for American Express), the length every network issues.
    const length = input.network === 'amex' ? 15 : 16;
    if (!PAN_LENGTHS[input.network].includes(length)) throw new Error('unreachable: card length');
    for (let attempt = 0; attempt < 5; attempt++) {
      let digits = bin.prefix;
      while (digits.length < length - 1) digits += String(randomInt(0, 10));
      const pan = Secret.pan(digits + luhnCheckDigit(digits));
      const fingerprint = await this.cipher.fingerprint(pan.reveal());
      const cardId = newId('icard', this.clock().getTime());
      const accountId = newId('acct', this.clock().getTime());
      const panEncrypted = await this.cipher.encrypt(pan.reveal(), `issuer:pan:${cardId}`);
      try {
        const cvv = await this.db.tx(async (tx) => {
          await repo.insertAccount(tx, {
            id: accountId,
            issuerId: input.issuerId,
            holderName: input.holderName,
            currency: input.currency ?? 'USD',
            postedBalance: input.postedBalance ?? 0n,
            creditLimit: input.creditLimit ?? 0n,
          });
          await repo.insertCard(tx, {
            id: cardId,
            accountId,
            network: input.network,
            panEncrypted,
            panFingerprint: fingerprint,
            last4: pan.reveal().slice(-4),
            expMonth: input.expMonth,
            expYear: input.expYear,
            product: input.product,
            status: input.status ?? 'active',
            parSeed: parSeed(),
            cvvMethod: 'cvk',
            sandboxCvvMac: null,
            acceptAnyFutureExpiry: false,
            idvPolicy: input.idvPolicy ?? 'green',
            phone: input.phone ?? null,
            email: input.email ?? null,
          });
          return this.hsm.cvv2(tx, input.issuerId, pan, input.network, input.expMonth, input.expYear);
        });
        return { cardId, accountId, last4: pan.reveal().slice(-4), expMonth: input.expMonth, expYear: input.expYear, pan, cvv };
      } catch (err) {
        if (isUniqueViolation(err, 'cards_pan_fingerprint_unique') || isUniqueViolation(err, 'cards_par_seed_unique')) continue;
        throw err;
      }
    }
    throw new AppError('busy_retry');
  }

  /** Issuer operations (blocking a card and the like); the admin routes will call it. */
  async setCardStatus(cardId: string, status: CardStatus): Promise<void> {
    await repo.setCardStatus(this.db, cardId, status);
  }

  async accountBalance(accountId: string): Promise<{ posted_balance: bigint; credit_limit: bigint; currency: string } | undefined> {
    return repo.accountBalance(this.db, accountId);
  }

  // --- Authorizations ---------------------------------------------------------------------------------

  /**
   * One ISO 8583 message from a network (0100, 0400, 0420), answered with the packed response
   * (./authorizations.ts). Bytes that are not such a message: `issuer_message_invalid`.
   */
  async handleIso8583(issuerId: string, caller: Caller, message: Uint8Array): Promise<{ request: IsoMessage; response: Uint8Array; outcome: MessageOutcome }> {
    await this.requireIssuer(issuerId);
    // Refunds (0200) have their own engine (src/issuer/refunds.ts).
    if (IssuerRefunds.isRefundRequest(message)) return this.refunds.handleRaw(issuerId, caller, message);
    return this.authorizations.handle(issuerId, caller, message);
  }

  /** An account's posted balance, holds and available funds; another issuer's account is "no such object". */
  async accountView(issuerId: string, accountId: string): Promise<AccountBalance> {
    await this.requireIssuer(issuerId);
    const a = await authorizationRepo.accountBalance(this.db, accountId);
    if (!a || a.issuer_id !== issuerId) throw new AppError('resource_missing', { param: 'account_id' });
    return {
      object: 'account_balance',
      id: a.id,
      issuer_id: a.issuer_id,
      currency: a.currency,
      posted: Number(a.posted_balance),
      credit_limit: Number(a.credit_limit),
      holds: Number(a.held),
      available: Number(a.posted_balance + a.credit_limit - a.held),
    };
  }

  /** Sandbox and test helper: which account (and card, and issuer) a card number belongs to. Never returns the number. */
  async accountForPan(pan: string | Secret): Promise<{ accountId: string; cardId: string; issuerId: string } | undefined> {
    const digits = typeof pan === 'string' ? pan : pan.reveal();
    if (!/^\d{12,19}$/.test(digits)) return undefined;
    const ref = await authorizationRepo.cardRefByFingerprint(this.db, await this.cipher.fingerprint(digits));
    return ref ? { accountId: ref.account_id, cardId: ref.card_id, issuerId: ref.issuer_id } : undefined;
  }

  /**
   * The invariants a crash or a timeout must not break: the ledger sums to zero overall and per posting;
   * each card's active holds are its approved, not reversed authorizations; each account's ledger entries
   * add up to its active holds. Read in one repeatable-read snapshot.
   */
  async checkInvariants(): Promise<InvariantReport> {
    return this.db.tx(
      async (tx) => {
        const total = await authorizationRepo.ledgerTotal(tx);
        const unbalanced = await authorizationRepo.unbalancedTransactions(tx);
        const holds = await authorizationRepo.holdMismatches(tx);
        const ledgerHolds = await authorizationRepo.ledgerHoldMismatches(tx);
        // The account row's running total agrees with its active holds.
        const heldMismatches = await authorizationRepo.heldTotalMismatches(tx);
        return {
          ok: total === 0n && unbalanced.length === 0 && holds.length === 0 && ledgerHolds.length === 0 && heldMismatches === 0,
          held_total_mismatches: heldMismatches,
          ledger_total: total.toString(),
          unbalanced_transactions: unbalanced.map((u) => ({ transaction_id: u.transaction_id, total: u.total.toString() })),
          hold_mismatches: holds.map((h) => ({ card_id: h.card_id, active_holds: h.active_holds, active_amount: h.active_amount.toString(), open_approvals: h.open_approvals, open_amount: h.open_amount.toString() })),
          ledger_hold_mismatches: ledgerHolds.map((l) => ({ account_id: l.account_id, ledger_held: l.ledger_held.toString(), active_holds: l.active_holds.toString() })),
        };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  // --- Identity and verification ----------------------------------------------------------------------

  /**
   * ID&V for a token request. The rules, in this order: unknown card → card_not_supported; expiry past or
   * not the card's → card_expired; 5 failed CVV checks in 24 hours → red too_many_attempts; wrong CVV →
   * card_cvv_incorrect (counted); card or account not active → red card_not_active; policy red → red risk;
   * policy yellow (risk) or device score ≤ 2 (new_device) → yellow with the ways to send a code; else green.
   */
  async verifyCard(issuerId: string, caller: Caller, input: VerifyCardInput, run: TxRunner = this.#tx): Promise<CardVerification> {
    const issuer = await this.requireIssuer(issuerId);
    const pan = input.pan.reveal();
    const valid = validatePan(pan);
    if (!valid.ok || valid.network !== input.network || detectNetwork(pan) !== input.network) throw new AppError('card_not_supported');
    if (caller.network && caller.network !== input.network) throw new AppError('card_not_supported');
    // Before the transaction: the fingerprint key may be loaded (or created) on first use.
    const fingerprint = await this.cipher.fingerprint(pan);

    const outcome = await run(async (tx): Promise<Outcome<CardVerification>> => {
      const card = await repo.cardForUpdate(tx, issuer.id, fingerprint);
      if (!card || card.network !== input.network) return fail('card_not_supported');
      const now = this.clock();
      if (!this.#expiryMatches(card, input.expMonth, input.expYear, now)) return fail('card_expired');

      const failures = await repo.countCvvFailures(tx, card.id, new Date(now.getTime() - CVV_FAILURE_WINDOW_MS));
      if (failures >= CVV_MAX_FAILURES) return this.#record(tx, caller, input, card, now, 'red', ['too_many_attempts']);

      if (!(await this.#cvvMatches(tx, card, input))) {
        await repo.insertCvvFailure(tx, card.id, now);
        return fail('card_cvv_incorrect', { param: 'cvv' });
      }

      if (card.status !== 'active' || card.account_status !== 'open') return this.#record(tx, caller, input, card, now, 'red', ['card_not_active']);
      if (card.idv_policy === 'red') return this.#record(tx, caller, input, card, now, 'red', ['risk']);
      const reasons: string[] = [];
      if (card.idv_policy === 'yellow') reasons.push('risk');
      if (input.deviceScore <= 2) reasons.push('new_device');
      if (reasons.length > 0) {
        // Step-up needs somewhere to send the code; without one the issuer cannot approve.
        if (methodsOf(card).length === 0) return this.#record(tx, caller, input, card, now, 'red', [...reasons, 'no_verification_method']);
        return this.#record(tx, caller, input, card, now, 'yellow', reasons);
      }
      return this.#record(tx, caller, input, card, now, 'green', []);
    });
    return unwrap(outcome);
  }

  #expiryMatches(card: CardRow, month: number, year: number, now: Date): boolean {
    if (expiryHasPassed(month, year, now) || card.status === 'expired') return false;
    // The documented test cards take any future expiry; real ones only their own.
    if (card.accept_any_future_expiry) return true;
    return card.exp_month === month && card.exp_year === year;
  }

  async #cvvMatches(tx: Sql, card: CardRow, input: VerifyCardInput): Promise<boolean> {
    if (!new RegExp(`^\\d{${cvvLength(card.network)}}$`).test(input.cvv.reveal())) return false;
    if (card.cvv_method === 'sandbox_fixed') return this.hsm.verifySandboxCvv(tx, card.issuer_id, card.id, input.cvv, card.sandbox_cvv_mac!);
    return this.hsm.verifyCvv2(tx, card.issuer_id, input.pan, card.network, card.exp_month, card.exp_year, input.cvv);
  }

  /** Stores the decision, or gives back the one already made for this token (a retried request). */
  async #record(tx: Sql, caller: Caller, input: VerifyCardInput, card: CardRow, now: Date, decision: Decision, reasons: string[]): Promise<Outcome<CardVerification>> {
    const existing = await repo.verificationByToken(tx, card.issuer_id, input.tokenRef);
    if (existing) {
      if (existing.card_id !== card.id || existing.requester !== caller.requester) {
        return fail('resource_conflict', { param: 'token_ref', message: 'This token reference already has a verification for another card or caller.' });
      }
      return { ok: true, value: this.#view(existing) };
    }
    const id = newId('civ', now.getTime());
    const status: VerificationStatus = decision === 'green' ? 'verified' : decision === 'red' ? 'declined' : 'pending';
    await repo.insertVerification(tx, {
      id,
      issuerId: card.issuer_id,
      cardId: card.id,
      requester: caller.requester,
      network: input.network,
      tokenRequestorId: input.tokenRequestorId,
      tokenRef: input.tokenRef,
      deviceId: input.device.id,
      deviceKind: input.device.kind,
      deviceScore: input.deviceScore,
      decision,
      reasons,
      status,
      at: now,
    });
    return {
      ok: true,
      value: {
        id,
        object: 'card_verification',
        decision,
        reasons,
        status,
        methods: decision === 'yellow' ? methodsOf(card) : [],
        card: { last4: card.last4, product: card.product, par_seed: card.par_seed, account_id: card.account_id, issuer_id: card.issuer_id, issuer_name: card.issuer_name },
      },
    };
  }

  #view(v: VerificationRow): CardVerification {
    return {
      id: v.id,
      object: 'card_verification',
      decision: v.decision,
      reasons: v.reasons,
      status: v.status,
      methods: v.decision === 'yellow' ? methodsOf(v) : [],
      card: { last4: v.last4, product: v.product, par_seed: v.par_seed, account_id: v.account_id, issuer_id: v.issuer_id, issuer_name: v.issuer_name },
    };
  }

  /** The verification if this caller may see it; another caller's is "no such object". */
  static #visible(v: VerificationRow | undefined, caller: Caller): v is VerificationRow {
    return v !== undefined && (caller.issuerAdmin || v.requester === caller.requester);
  }

  /** Sends a one-time code by the chosen method (a simulated SMS or e-mail in the sandbox outbox). */
  async sendOtp(issuerId: string, caller: Caller, verificationId: string, methodId: string, run: TxRunner = this.#tx): Promise<OtpSent> {
    await this.requireIssuer(issuerId);
    const outcome = await run(async (tx): Promise<Outcome<OtpSent>> => {
      const v = await repo.verification(tx, issuerId, verificationId, true);
      if (!IssuerService.#visible(v, caller)) return fail('resource_missing', { param: 'id' });
      if (v.status === 'locked') return fail('verification_locked');
      if (v.decision !== 'yellow' || v.status === 'verified') return fail('verification_not_pending');
      if (v.otp_sent_count >= OTP_MAX_SENDS) return fail('verification_code_limit');
      const method = methodsOf(v).find((m) => m.id === methodId);
      if (!method) return fail('parameter_invalid', { param: 'method_id', message: 'method_id must be one of the methods the verification offered.' });

      const now = this.clock();
      const code = new Secret(String(randomInt(0, 10 ** OTP_DIGITS)).padStart(OTP_DIGITS, '0'));
      const expiresAt = new Date(now.getTime() + OTP_TTL_MS);
      await repo.markCodeSent(tx, v.id, { otpHmac: await this.hsm.otpMac(tx, issuerId, v.id, code), method: method.id, expiresAt, at: now });
      await repo.insertMessage(tx, {
        id: newId('smsg', now.getTime()),
        verificationId: v.id,
        channel: method.id,
        destination: method.destination,
        body: messageBody(method.id, v.issuer_name, v.last4, code),
        at: now,
      });
      return { ok: true, value: { id: v.id, object: 'card_verification', sent: true, method_id: method.id, expires_at: expiresAt.toISOString() } };
    });
    return unwrap(outcome);
  }

  /**
   * Checks a one-time code. Three wrong codes over the verification lock it; a code is good for 10
   * minutes; once verified, confirming again gives the same success. The row is locked, so concurrent
   * confirms are counted one after the other.
   */
  async confirmOtp(issuerId: string, caller: Caller, verificationId: string, code: Secret, run: TxRunner = this.#tx): Promise<OtpConfirmed> {
    await this.requireIssuer(issuerId);
    const outcome = await run(async (tx): Promise<Outcome<OtpConfirmed>> => {
      const v = await repo.verification(tx, issuerId, verificationId, true);
      if (!IssuerService.#visible(v, caller)) return fail('resource_missing', { param: 'id' });
      const success: Outcome<OtpConfirmed> = { ok: true, value: { id: v.id, object: 'card_verification', decision: 'green', status: 'verified' } };
      if (v.status === 'verified' && v.decision === 'yellow') return success;
      if (v.status === 'locked') return fail('verification_locked');
      if (v.decision !== 'yellow') return fail('verification_not_pending');
      if (v.status === 'expired') return fail('verification_expired');
      if (v.status !== 'code_sent' || !v.otp_hmac || !v.otp_expires_at) {
        return fail('verification_not_pending', { message: 'No verification code has been sent yet; request one first.' });
      }
      const now = this.clock();
      if (now.getTime() >= new Date(v.otp_expires_at).getTime()) {
        await repo.markExpired(tx, v.id, now);
        return fail('verification_expired');
      }
      if (await this.hsm.verifyOtp(tx, issuerId, v.id, code, v.otp_hmac)) {
        await repo.markVerified(tx, v.id, now);
        return success;
      }
      const attempts = v.attempts + 1;
      const locked = attempts >= OTP_MAX_ATTEMPTS;
      await repo.recordWrongCode(tx, v.id, attempts, locked, now);
      if (locked) return fail('verification_locked');
      const left = OTP_MAX_ATTEMPTS - attempts;
      return fail('verification_code_incorrect', { param: 'code', message: `The verification code is incorrect; ${left} attempt${left === 1 ? '' : 's'} left.` });
    });
    return unwrap(outcome);
  }

  /** The simulated SMS and e-mail sent for a verification, newest first. */
  async messages(issuerId: string, caller: Caller, verificationId: string): Promise<SandboxMessage[]> {
    await this.requireIssuer(issuerId);
    const v = await repo.verification(this.db, issuerId, verificationId, false);
    if (!IssuerService.#visible(v, caller)) throw new AppError('resource_missing', { param: 'id' });
    const rows = await repo.messages(this.db, v.id);
    return rows.map((m) => ({ id: m.id, object: 'sandbox_message', channel: m.channel, destination: m.destination, body: m.body, created_at: new Date(m.created_at).toISOString() }));
  }

  /** The issuer's documented test cards; full numbers only for the well-known public ones. */
  async sandboxCards(issuerId: string): Promise<SandboxCardView[]> {
    await this.requireIssuer(issuerId);
    return SANDBOX_CARDS.filter((c) => c.issuerId === issuerId).map((c) => ({
      object: 'sandbox_card',
      key: c.key,
      network: c.network,
      number: c.wellKnown ? c.number : null,
      masked: maskPan(c.number),
      last4: c.number.slice(-4),
      product: c.product,
      purpose: c.purpose,
      outcome: c.outcome,
      cvv: c.cvv,
      expiry: c.acceptAnyFutureExpiry ? 'any future month' : `${String(c.expMonth).padStart(2, '0')}/${c.expYear}`,
    }));
  }
}

function messageBody(channel: 'sms' | 'email', issuerName: string, last4: string, code: Secret): string {
  const text = `${code.reveal()} is your ${issuerName} code to add the card ending ${last4} to a wallet. It expires in 10 minutes. ${issuerName} will never ask you for it.`;
  return channel === 'sms' ? `${issuerName}: ${text}` : `Subject: Your ${issuerName} verification code\n\n${text}`;
}

import { setTimeout as sleep } from 'node:timers/promises';
import { Batcher } from '../infra/db/batcher.js';
import type { Database, Sql } from '../infra/db/database.js';
import { AppError } from '../infra/errors.js';
import { newId } from '../infra/ids.js';
import type { EnvelopeCipher } from '../infra/keys/envelope.js';
import type { Logger } from '../infra/logger.js';
import { announceEnqueued, enqueue } from '../infra/outbox.js';
import { concatBytes, toHex } from '../protocol/bytes.js';
import { cryptogramInput, type CryptogramInput } from '../protocol/emv/index.js';
import { ProtocolError } from '../protocol/errors.js';
import { describeMessage, packMessage, packSubelements, parseSubelements, responseMti, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { DE48 } from '../protocol/iso8583/spec.js';
import { Secret } from '../protocol/secret.js';
import { buildTlv, parseTlv, tlv, tlvToMap } from '../protocol/tlv/tlv.js';
import type { Brand, BrandCvn } from './brands.js';
import type { Hsm } from './hsm.js';
import { checkOnlineCryptogram } from './online-cryptogram.js';
import { exchangeWithIssuer, type IssuerIso, type IssuerOutcome } from './issuer-link.js';
import { handleRefund } from './refunds.js';
import type { IssuerDirectory } from './issuers.js';
import { networkRepo, switchRepo, type AuthorizationRow, type AuthorizationStatus, type ClaimedIssuerReversal, type NewAuthorization, type NewIssuerReversal, type OutboxRow, type TransmissionKey } from './repository.js';
import { vaultContext } from './service.js';
import type { SwitchToken, TokenDirectory } from './token-directory.js';
import { REVERSAL_RETRY, reversalBackoffMs, type ReversalRetryPolicy } from '../infra/reversal-policy.js';

export interface SwitchSettings {
  /** How long the switch waits for an issuer's answer before it answers 91 and owes the issuer a reversal. */
  issuerTimeoutMs: number;
  /** A pending authorization older than issuerTimeoutMs + staleGraceMs belongs to a process that stopped. */
  staleGraceMs: number;
  /**
   * Cryptograms that failed verification in a row (since the token's last admitted one) after which the
   * network suspends the token itself (docs/authorization.md, "Cryptogram failures").
   */
  cryptogramFailureLimit: number;
  /**
   * The repeat policy every reversal follows (src/infra/reversal-policy.ts: doubling backoff, `failed` for
   * the operator after maxAttempts), how many one run sends at most, and how long the first 0400 after an
   * issuer timeout waits (the issuer may still be working on the 0100).
   */
  reversal: ReversalRetryPolicy & { firstDelayMs: number; batchSize: number };
}

export const DEFAULT_SWITCH_SETTINGS: SwitchSettings = {
  issuerTimeoutMs: 1500,
  cryptogramFailureLimit: 10,
  staleGraceMs: 5000,
  reversal: { ...REVERSAL_RETRY, firstDelayMs: 1500, batchSize: 50 },
};

export interface SwitchDeps {
  db: Database;
  hsm: Hsm;
  vault: EnvelopeCipher;
  tokens: TokenDirectory;
  directory: IssuerDirectory;
  /** The issuers' ISO 8583 endpoints; without it every authorization is answered 91 (nothing is sent). */
  issuerIso: IssuerIso | undefined;
  clock: () => Date;
  logger: Logger;
  settings: SwitchSettings;
  /** Suspends a token on the network's own account (repeated cryptogram failures); TokenLifecycle.suspendByNetwork. */
  suspendToken?: (tokenRef: string, reason: string) => Promise<unknown>;
}

/** DE 2, 3, 4, 7, 11, 22, 41, 49: without them a 0100 cannot be checked, deduplicated or routed. */
const REQUIRED_0100 = [2, 3, 4, 7, 11, 22, 41, 49] as const;
/** What an answer to the acquirer repeats of its request (DE 2 and DE 14: the token's). */
const ECHO = [2, 3, 4, 7, 11, 12, 13, 14, 32, 37, 41, 42, 49, 90] as const;
/** What a log line may show of a message: never DE 2, 35, 48, 52 or 55. */
const LOGGED = [3, 4, 7, 11, 18, 22, 25, 32, 37, 38, 39, 41, 42, 49, 90] as const;
/** DE 48 subelements only the network writes: an acquirer's copies are dropped. */
const TOKEN_CONTEXT: readonly string[] = [DE48.TOKEN_PAN, DE48.TOKEN_EXPIRY, DE48.TOKEN_REQUESTOR_ID, DE48.CRYPTOGRAM_RESULT, DE48.DEVICE_ID, DE48.DOMAIN_CHECK];
/**
 * Declines that mean a cryptogram failed verification: they count towards the token's lock-out. An amount
 * or currency that differs from what the card signed is not among them: a terminal's fault, not the token's.
 */
const CRYPTOGRAM_FAILURES: ReadonlySet<string> = new Set(['arqc_invalid', 'online_cryptogram_invalid']);
/** A 0410/0430 with one of these means "not now": the reversal is sent again. */
const RETRY_CODES: ReadonlySet<string> = new Set(['91', '96']);
/**
 * Card status update (Visa CSU) sent with the ARPC of an approval, for the 4-byte-ARPC schemes (Visa CVN
 * 18, the AES 'A1'/'D1'): 00000000, as in the reference vectors. DE 55 tag 91 = ARPC ‖ CSU.
 */
const CSU = new Uint8Array(4);

type Channel = 'contactless' | 'inapp';

/** The cryptogram part of an in-store 0100, once verified. */
interface Chip {
  input: CryptogramInput;
  arqc: Uint8Array;
  atc: number;
}

interface Context {
  brand: Brand;
  acquirerId: string;
  msg: IsoMessage;
  key: TransmissionKey;
  requestHash: Buffer;
  started: number;
  now: Date;
  log: Logger;
}

/** The facts of a `network.transaction` event (the platform's transaction history and device push). */
interface EventFacts {
  id: string;
  tokenRef: string;
  brand: Brand;
  trid: string;
  deviceId: string;
  amount: number;
  currency: string;
  merchantName: string | null;
  mcc: string | null;
  posEntryMode: string | null;
  status: AuthorizationStatus;
  responseCode: string | null;
  authCode: string | null;
  declineReason: string | null;
  occurredAt: Date;
}

const text = (msg: IsoMessage, n: number): string | undefined => {
  const v = msg.fields[n];
  return typeof v === 'string' ? v : undefined;
};

/** A log view: whitelisted fields only (masked by describeMessage); DE 55 only as its length. */
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

/** The answer to a request: its keys echoed, DE 39, and any extra fields. */
function respond(request: IsoMessage, code: string, extra: Record<number, string | Uint8Array> = {}): IsoMessage {
  const fields: Record<number, string | Uint8Array> = {};
  for (const n of ECHO) {
    const v = request.fields[n];
    if (v !== undefined) fields[n] = v;
  }
  return { mti: responseMti(request.mti), fields: { ...fields, ...extra, 39: code } };
}

/** DE 7: MMDDhhmmss in UTC. */
function transmissionDateTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/**
 * DE 90, n 42: original MTI ‖ STAN ‖ transmission date-time ‖ acquiring institution id (11, zero-filled)
 * ‖ forwarding institution id (11; zeros: no DE 33 is sent).
 */
export function originalDataElements(o: { mti: string; stan: string; transmitted: string; acquirerInstitution: string | null }): string {
  return `${o.mti}${o.stan}${o.transmitted}${(o.acquirerInstitution ?? '0').padStart(11, '0')}${'0'.repeat(11)}`;
}

function parseOriginalDataElements(de90: string): { mti: string; stan: string; transmitted: string } | null {
  if (!/^\d{42}$/.test(de90)) return null;
  return { mti: de90.slice(0, 4), stan: de90.slice(4, 10), transmitted: de90.slice(10, 20) };
}

/** True once the month after YYMM has begun (UTC). */
function expired(yymm: string, now: Date): boolean {
  const year = 2000 + Number(yymm.slice(0, 2));
  const month = Number(yymm.slice(2, 4));
  return now.getTime() >= Date.UTC(year, month, 1);
}

function brandCvn(cvn: string): BrandCvn {
  if (cvn === '18') return 18;
  if (cvn === '20') return 20;
  if (cvn === 'A1' || cvn === 'D1') return cvn;
  throw new Error('unknown cryptogram version on a token');
}

/**
 * The card networks' switch (docs/authorization.md): 0100 from an acquirer with a token → checks
 * (token status, expiry, domain, ARQC in the HSM, ATC only upwards) → 0100 to the card's issuer with the
 * card number and the token context in DE 48 → 0110 mapped back to the token with the ARPC in DE 55
 * tag 91. 0400/0420 from an acquirer reverse an authorization at the issuer, once. Every outcome the
 * issuer may have acted on without the network knowing (a timeout, an unreadable answer, a process that
 * stopped) becomes a reversal owed to the issuer, delivered by `runPendingReversals` until acknowledged,
 * so the issuer's holds equal the approved authorizations.
 *
 * Database work per approval: one statement that advances the ATC and records the authorization
 * (pending), then one transaction with its answer and the outbox event; no transaction is open during
 * the issuer call.
 */
type CompletionItem = Parameters<typeof switchRepo.completeManyWithEvents>[1][number];

export class NetworkSwitch {
  #running: Promise<number> | null = null;

  /** The usual answer (with its event) of concurrent taps, one statement per batch (infra/db/batcher.ts). */
  readonly #completions: Batcher<CompletionItem, boolean>;
  /** Concurrent taps' admissions (ATC advance and pending record), one statement per batch, never one token twice in it. */
  readonly #admissions: Batcher<NewAuthorization, 'admitted' | 'not_advanced' | 'duplicate'>;

  constructor(private readonly deps: SwitchDeps) {
    this.#admissions = new Batcher(
      (items) => switchRepo.admitMany(deps.db, items),
      (item) => switchRepo.admit(deps.db, item),
      { keys: (item) => (item.tokenRef === null ? [] : [item.tokenRef]) },
    );
    this.#completions = new Batcher(
      (items) => switchRepo.completeManyWithEvents(deps.db, items),
      (item) => switchRepo.completeWithEvent(deps.db, item.id, item.result, item.event),
    );
  }

  /** One message from an acquirer (its API key's owner id): the packed answer. Not a message → 400 iso8583_invalid. */
  async handle(brand: Brand, acquirerId: string, raw: Uint8Array, log: Logger = this.deps.logger): Promise<Uint8Array> {
    const started = performance.now();
    let msg: IsoMessage;
    try {
      msg = unpackMessage(raw);
    } catch (err) {
      // The codec's messages name the data element and the problem, never a value.
      if (err instanceof ProtocolError) {
        throw new AppError('iso8583_invalid', { message: `The body is not a valid ISO 8583 message: ${err.message}.`, ...(err.at !== undefined ? { param: String(err.at) } : {}) });
      }
      throw err;
    }
    switch (msg.mti) {
      case '0100':
        return packMessage(await this.#authorize(brand, acquirerId, msg, raw, log, started));
      case '0400':
      case '0420':
        return packMessage(await this.#reverse(brand, acquirerId, msg, log));
      case '0200':
        // Refunds (processing code 20): src/network/refunds.ts.
        return packMessage(await handleRefund(this.deps, brand, acquirerId, msg, log));
      default:
        throw new AppError('iso8583_invalid', { message: 'This endpoint takes 0100 authorization requests, 0200 refund requests, 0400 reversal requests and 0420 reversal advices.', param: 'MTI' });
    }
  }

  // ---- 0100 ----

  async #authorize(brand: Brand, acquirerId: string, msg: IsoMessage, raw: Uint8Array, log: Logger, started: number): Promise<IsoMessage> {
    if (REQUIRED_0100.some((n) => text(msg, n) === undefined)) return this.#refuse(msg, '12', 'a required data element is missing', log);
    if (text(msg, 3) !== '000000') return this.#refuse(msg, '12', 'processing code not supported', log);
    if (Number(text(msg, 4)) === 0) return this.#refuse(msg, '13', 'zero amount', log);

    const { vault, tokens, directory } = this.deps;
    const ctx: Context = {
      brand,
      acquirerId,
      msg,
      key: { acquirerId, stan: text(msg, 11)!, transmitted: text(msg, 7)!, terminalId: text(msg, 41)! },
      requestHash: await vault.fingerprint(`iso8583:${Buffer.from(raw).toString('base64')}`),
      started,
      now: this.deps.clock(),
      log,
    };
    const tokenPan = text(msg, 2)!;

    // 1. The token (cache, else the vault by the number's keyed fingerprint).
    const token = /^\d{13,19}$/.test(tokenPan) ? await tokens.byTokenPan(tokenPan) : undefined;
    if (!token) return this.#decline(ctx, undefined, '14', 'unknown_token');
    // Another network's token is no token of this one (its state is not told).
    if (token.brand !== brand) return this.#decline(ctx, undefined, '14', 'token_of_another_network');
    // 2. Status and expiry.
    // A deleted token is no payment credential any more (14); a suspended or inactive one is restricted (62).
    if (token.status !== 'active') return this.#decline(ctx, token, token.status === 'deleted' ? '14' : '62', `token_${token.status}`);
    const de14 = text(msg, 14);
    if (de14 !== undefined && de14 !== token.token_exp) return this.#decline(ctx, token, '54', 'expiry_mismatch');
    if (expired(token.token_exp, ctx.now)) return this.#decline(ctx, token, '54', 'token_expired');

    // 3. Domain restriction controls.
    let subelements: Map<string, string>;
    try {
      subelements = text(msg, 48) !== undefined ? parseSubelements(text(msg, 48)!) : new Map<string, string>();
    } catch {
      return this.#decline(ctx, token, '12', 'de48_invalid');
    }
    const mode = text(msg, 22)!.slice(0, 2);
    let channel: Channel;
    if (mode === '07') {
      if (!token.domains.includes('contactless')) return this.#decline(ctx, token, '57', 'domain_contactless');
      channel = 'contactless';
    } else if (mode === '81' || mode === '09') {
      if (!token.domains.includes('inapp')) return this.#decline(ctx, token, '57', 'domain_inapp');
      // The online cryptogram's own check comes with the in-app flow; until then it must at least be there.
      if (!subelements.get(DE48.ECOM_CRYPTOGRAM)) return this.#decline(ctx, token, '57', 'cryptogram_missing');
      channel = 'inapp';
    } else {
      // Manual entry, magstripe, contact chip, credential on file: never with a device token.
      return this.#decline(ctx, token, '57', 'pos_entry_mode_not_permitted');
    }

    // 4. The ARQC, in the HSM; only then the ATC.
    let chip: Chip | null = null;
    if (channel === 'contactless') {
      const checked = await this.#checkArqc(brand, token, tokenPan, msg);
      if ('reason' in checked) return this.#cryptogramFailed(ctx, token, checked.reason);
      chip = checked;
    }
    // In-app: the online cryptogram (DE 48 SE 43) in the HSM; its ATC is the same counter (docs/inapp.md).
    let onlineAtc: number | null = null;
    if (channel === 'inapp') {
      const checked = await checkOnlineCryptogram(this.deps.hsm, brand, { psn: token.psn, cvn: brandCvn(token.cvn) }, tokenPan, msg, subelements);
      if ('reason' in checked) return this.#cryptogramFailed(ctx, token, checked.reason);
      onlineAtc = checked.atc;
    }

    // 5. Detokenize and route by the card's BIN.
    const pan = await vault.decryptString(Buffer.from(token.pan_encrypted, 'base64'), vaultContext.pan(token.token_ref));
    const issuerId = directory.issuerIdForPan(Secret.pan(pan)) ?? token.issuer_id;
    let toIssuer: Uint8Array;
    try {
      toIssuer = packMessage(this.#issuerRequest(msg, token, tokenPan, pan, subelements, channel));
    } catch (err) {
      // The acquirer's DE 48 leaves no room for the token context (DE 48 holds 999 characters).
      if (err instanceof ProtocolError) return this.#decline(ctx, token, '12', 'de48_too_long');
      throw err;
    }

    // The ATC advance and the record, in one statement; then the issuer, outside any transaction.
    const auth = this.#newAuthorization(ctx, token, chip?.atc ?? onlineAtc, issuerId);
    const admitted = await this.#admissions.submit(auth);
    if (admitted === 'duplicate') return this.#duplicate(ctx, token);
    if (admitted === 'not_advanced') return this.#notAdmitted(ctx, token, auth, chip);
    const outcome: IssuerOutcome | { kind: 'not_configured' } = this.deps.issuerIso
      ? await exchangeWithIssuer(this.deps.issuerIso, brand, issuerId, toIssuer, this.deps.settings.issuerTimeoutMs)
      : { kind: 'not_configured' };
    return this.#finish(ctx, token, tokenPan, auth, chip, outcome);
  }

  /** Checks DE 55: present, parsable, DE 4 = 9F02, DE 49 = 5F2A, and the ARQC under the token's key. */
  async #checkArqc(brand: Brand, token: SwitchToken, tokenPan: string, msg: IsoMessage): Promise<Chip | { reason: string }> {
    const de55 = msg.fields[55];
    if (!(de55 instanceof Uint8Array)) return { reason: 'icc_data_missing' };
    let input: CryptogramInput;
    let arqc: Uint8Array | undefined;
    try {
      const tags = tlvToMap(parseTlv(de55));
      input = cryptogramInput(tags);
      arqc = tags.get('9F26');
    } catch {
      return { reason: 'icc_data_invalid' };
    }
    if (!arqc || arqc.length !== 8) return { reason: 'icc_data_invalid' };
    // The amount and currency the issuer is asked for must be the ones the card signed.
    if (toHex(input['9F02']) !== text(msg, 4)) return { reason: 'amount_mismatch' };
    if (toHex(input['5F2A']) !== text(msg, 49)!.padStart(4, '0')) return { reason: 'currency_mismatch' };
    let valid = false;
    try {
      valid = await this.deps.hsm.verifyArqc(brand, Secret.pan(tokenPan), token.psn, brandCvn(token.cvn), input, arqc);
    } catch {
      // A 9F10 of another CVN or layout: not this token's cryptogram.
      valid = false;
    }
    if (!valid) return { reason: 'arqc_invalid' };
    return { input, arqc, atc: (input['9F36'][0]! << 8) | input['9F36'][1]! };
  }

  #newAuthorization(ctx: Context, token: SwitchToken | undefined, atc: number | null, issuerId: string | null): NewAuthorization {
    const { msg } = ctx;
    return {
      ...ctx.key,
      id: newId('nauth', ctx.now.getTime()),
      requestHash: ctx.requestHash,
      tokenRef: token?.token_ref ?? null,
      brand: ctx.brand,
      processingCode: text(msg, 3)!,
      amount: Number(text(msg, 4)),
      currency: text(msg, 49)!,
      acquiringInstitution: text(msg, 32) || null,
      rrn: text(msg, 37) ?? null,
      merchantId: text(msg, 42) ?? null,
      merchantName: text(msg, 43)?.trim() || null,
      mcc: text(msg, 18) ?? null,
      posEntryMode: text(msg, 22) ?? null,
      atc,
      issuerId,
      createdAt: ctx.now,
    };
  }

  /** The issuer's 0100: the card's number and expiry, the token context in DE 48, the rest as it came. */
  #issuerRequest(msg: IsoMessage, token: SwitchToken, tokenPan: string, pan: string, subelements: Map<string, string>, _channel: Channel): IsoMessage {
    const fields: Record<number, string | Uint8Array> = { ...msg.fields };
    delete fields[35];
    delete fields[52];
    fields[2] = pan;
    fields[14] = token.card_exp;
    const context = new Map(subelements);
    for (const id of TOKEN_CONTEXT) context.delete(id);
    context.set(DE48.TOKEN_PAN, tokenPan);
    context.set(DE48.TOKEN_EXPIRY, token.token_exp);
    context.set(DE48.TOKEN_REQUESTOR_ID, token.token_requestor_id);
    // V: the token's cryptogram was validated (the ARQC in store, the online cryptogram in-app); anything else never gets here.
    context.set(DE48.CRYPTOGRAM_RESULT, 'V');
    if (token.device_id.length <= 48) context.set(DE48.DEVICE_ID, token.device_id);
    context.set(DE48.DOMAIN_CHECK, 'P');
    fields[48] = packSubelements(context);
    return { mti: '0100', fields };
  }

  /** The issuer's answer (or its absence) recorded, mapped back to the token, and answered. */
  async #finish(ctx: Context, token: SwitchToken, tokenPan: string, auth: NewAuthorization, chip: Chip | null, outcome: IssuerOutcome | { kind: 'not_configured' }): Promise<IsoMessage> {
    const { msg, log } = ctx;
    let status: 'approved' | 'declined' | 'timed_out';
    let code: string;
    let authCode: string | null = null;
    let reason: string | null = null;
    let reversal: NewIssuerReversal['reason'] | null = null;
    const extra: Record<number, string | Uint8Array> = {};
    switch (outcome.kind) {
      case 'not_configured':
        [status, code, reason] = ['declined', '91', 'issuer_link_not_configured'];
        break;
      case 'refused':
        // The issuer did not take the message: nothing happened there.
        log.error({ token_ref: token.token_ref, issuer_id: auth.issuerId, status: outcome.status, code: outcome.code }, 'the issuer refused the authorization message');
        [status, code, reason] = ['declined', '96', 'issuer_refused_message'];
        break;
      case 'no_answer':
        [status, code, reason] = ['timed_out', '91', `issuer_${outcome.reason}`];
        reversal = outcome.reason === 'timeout' ? 'issuer_timeout' : outcome.reason === 'unreadable' ? 'issuer_unreadable' : 'issuer_unavailable';
        break;
      case 'answer': {
        const m = outcome.message;
        const c = text(m, 39);
        const stan = text(m, 11);
        if (m.mti !== '0110' || c === undefined || !/^[0-9A-Z]{2}$/.test(c) || (stan !== undefined && stan !== auth.stan)) {
          log.error({ token_ref: token.token_ref, issuer_id: auth.issuerId, mti: m.mti, has_code: c !== undefined }, 'the issuer answered with something other than this 0110');
          [status, code, reason] = ['timed_out', '96', 'issuer_answer_invalid'];
          reversal = 'issuer_unreadable';
          break;
        }
        code = c;
        status = c === '00' ? 'approved' : 'declined';
        reason = c === '00' ? null : 'issuer_declined';
        const de38 = text(m, 38);
        if (de38 !== undefined) {
          extra[38] = de38;
          if (status === 'approved') authCode = de38;
        }
        for (const n of [44, 54]) if (m.fields[n] !== undefined) extra[n] = m.fields[n]!;
        // The ARPC for the card (issuer authentication data): on an approval only, nothing else of DE 55.
        if (status === 'approved' && chip) extra[55] = await this.#issuerAuthenticationData(ctx.brand, token, tokenPan, chip, code);
        break;
      }
    }

    const latencyMs = Math.max(0, Math.round(performance.now() - ctx.started));
    const completedAt = this.deps.clock();
    const result = { status, responseCode: code, authCode, declineReason: reason, latencyMs, completedAt };
    const facts = this.#factsOf(auth, token, result);
    // The usual outcome is one statement (answer and event together); a reversal owed makes it a transaction.
    const done = !reversal
      ? await this.#completions.submit({ id: auth.id, result, event: this.#eventRow(facts) })
      : await this.deps.db.tx(
          async (tx) => {
            const row = await switchRepo.complete(tx, auth.id, result);
            if (!row) return false;
            await this.#event(tx, facts);
            await this.#recordReversal(tx, row, reversal, '0400', new Date(completedAt.getTime() + this.deps.settings.reversal.firstDelayMs), 0);
            return true;
          },
          { isolation: 'read committed' },
        );
    if (!done) {
      // Reversed by the acquirer or swept as stale meanwhile: a reversal is owed already; this is no approval.
      log.warn({ authorization_id: auth.id, token_ref: token.token_ref, issuer_code: code }, 'issuer answer came after the authorization was reversed or expired: answered 91');
      return respond(msg, '91');
    }
    const response = respond(msg, code, extra);
    const line = { authorization_id: auth.id, token_ref: token.token_ref, brand: ctx.brand, issuer_id: auth.issuerId, status, response_code: code, decline_reason: reason, latency_ms: latencyMs, iso: logView(response) };
    if (reversal) log.warn(line, 'network authorization: issuer outcome unknown, answered and owes the issuer a reversal');
    else log.info(line, 'network authorization');
    return response;
  }

  /** DE 55 of an approval: tag 91 = ARPC ‖ ARC (Mastercard CVN 20, method 1) or ARPC ‖ CSU (Visa CVN 18, AES). */
  async #issuerAuthenticationData(brand: Brand, token: SwitchToken, tokenPan: string, chip: Chip, code: string): Promise<Uint8Array> {
    const cvn = brandCvn(token.cvn);
    if (cvn === 20) {
      const arc = Uint8Array.from(code, (c) => c.charCodeAt(0));
      const arpc = await this.deps.hsm.generateArpc(brand, Secret.pan(tokenPan), token.psn, cvn, chip.input, chip.arqc, { arc });
      return buildTlv([tlv('91', concatBytes(arpc, arc))]);
    }
    const arpc = await this.deps.hsm.generateArpc(brand, Secret.pan(tokenPan), token.psn, cvn, chip.input, chip.arqc, { csu: CSU });
    return buildTlv([tlv('91', concatBytes(arpc, CSU))]);
  }

  /** An answer the network gives without recording it (not an authorization it can key). */
  #refuse(msg: IsoMessage, code: string, why: string, log: Logger): IsoMessage {
    log.info({ response_code: code, reason: why, iso: logView(msg) }, 'network refused the message');
    return respond(msg, code);
  }

  /** A decline by the network itself, recorded (with its event when the token is known). */
  async #decline(ctx: Context, token: SwitchToken | undefined, code: string, reason: string): Promise<IsoMessage> {
    const auth = this.#newAuthorization(ctx, token, null, token?.issuer_id ?? null);
    const result = { status: 'declined' as const, responseCode: code, authCode: null, declineReason: reason, latencyMs: Math.max(0, Math.round(performance.now() - ctx.started)), completedAt: ctx.now };
    const inserted = token
      ? await switchRepo.insertAnsweredWithEvent(this.deps.db, auth, result, this.#eventRow(this.#factsOf(auth, token, result)))
      : await switchRepo.insertAnswered(this.deps.db, auth, result);
    if (!inserted) return this.#duplicate(ctx, token);
    ctx.log.info(
      { authorization_id: auth.id, token_ref: token?.token_ref ?? null, brand: ctx.brand, status: 'declined', response_code: code, decline_reason: reason, iso: logView(ctx.msg) },
      'network authorization declined by the network',
    );
    return respond(ctx.msg, code);
  }

  /**
   * A cryptogram that did not verify (or chip data that cannot be the card's): declined 88. Forged or
   * corrupted cryptograms on one token are counted since its last admitted authorization; at the limit
   * the network suspends the token itself, as token service providers do on suspected compromise, and
   * tells the wallet platform and the issuer (only the issuer resumes it). A replayed genuine message is
   * refused by its ATC instead (63) and does not count.
   */
  async #cryptogramFailed(ctx: Context, token: SwitchToken, reason: string): Promise<IsoMessage> {
    const answer = await this.#decline(ctx, token, '88', reason);
    if (!CRYPTOGRAM_FAILURES.has(reason) || !this.deps.suspendToken) return answer;
    const failures = await switchRepo.cryptogramFailuresSinceAdmitted(this.deps.db, token.token_ref, [...CRYPTOGRAM_FAILURES]);
    const limit = this.deps.settings.cryptogramFailureLimit;
    if (failures >= limit) {
      await this.deps.suspendToken(token.token_ref, 'cryptogram_failures');
      ctx.log.warn({ metric: 'network_cryptogram_lockouts_total', token_ref: token.token_ref, brand: ctx.brand, failures, limit }, 'token suspended by the network after repeated cryptogram failures');
    }
    return answer;
  }

  /** The ATC did not advance: this very message again (a duplicate), a token no longer active (62), or a replayed or lower ATC (63). */
  async #notAdmitted(ctx: Context, token: SwitchToken, auth: NewAuthorization, chip: Chip | null): Promise<IsoMessage> {
    const { db, tokens } = this.deps;
    if (await switchRepo.authorizationByKey(db, ctx.key)) return this.#duplicate(ctx, token);
    const gate = await switchRepo.tokenGate(db, token.token_ref);
    if (!gate || gate.status !== 'active') {
      // The cache said active; the database, which is the truth, does not.
      await tokens.invalidate(token.token_ref);
      const status = gate?.status ?? 'deleted';
      return this.#decline(ctx, token, status === 'deleted' ? '14' : '62', `token_${status}`);
    }
    const atc = chip?.atc ?? auth.atc;
    if (atc === null) return this.#refuse(ctx.msg, '96', 'the token could not be admitted', ctx.log);
    const reason = atc === gate.atc_high_water ? 'atc_replayed' : 'atc_lower';
    const result = { status: 'declined' as const, responseCode: '63', authCode: null, declineReason: reason, latencyMs: Math.max(0, Math.round(performance.now() - ctx.started)), completedAt: ctx.now };
    const rejections = await db.tx(
      async (tx) => {
        if (!(await switchRepo.insertAnswered(tx, auth, result))) return null;
        const count = await switchRepo.countAtcRejection(tx, token.token_ref);
        await this.#event(tx, this.#factsOf(auth, token, result));
        return count;
      },
      { isolation: 'read committed' },
    );
    if (rejections === null) return this.#duplicate(ctx, token);
    ctx.log.warn(
      { metric: 'network_atc_rejections_total', authorization_id: auth.id, token_ref: token.token_ref, brand: ctx.brand, atc, atc_high_water: gate.atc_high_water, atc_rejections: rejections, decline_reason: reason },
      'ATC replayed or lower than the highest accepted: refused with 63',
    );
    return respond(ctx.msg, '63');
  }

  /**
   * A 0100 whose transmission key (acquirer, DE 11, DE 7, DE 41) was seen before: the same bytes get the
   * recorded answer (waiting while the first is with the issuer), without a second issuer call; another
   * message under the same key gets 94.
   */
  async #duplicate(ctx: Context, token: SwitchToken | undefined): Promise<IsoMessage> {
    const deadline = performance.now() + this.deps.settings.issuerTimeoutMs + 1000;
    for (;;) {
      const row = await switchRepo.authorizationByKey(this.deps.db, ctx.key);
      if (!row) return this.#refuse(ctx.msg, '96', 'duplicate without its original', ctx.log);
      if (!Buffer.from(row.request_hash).equals(ctx.requestHash)) return this.#refuse(ctx.msg, '94', 'another message under a transmission key seen before', ctx.log);
      if (row.status !== 'pending') return this.#replay(ctx, row, token);
      if (performance.now() > deadline) return this.#refuse(ctx.msg, '91', 'the original of this retransmission is still with the issuer', ctx.log);
      await sleep(10);
    }
  }

  /** The recorded answer of an authorization, rebuilt for its retransmission (the ARPC is deterministic). */
  async #replay(ctx: Context, row: AuthorizationRow, token: SwitchToken | undefined): Promise<IsoMessage> {
    // A reversal of a pending authorization leaves no answer: it was never approved.
    const code = row.response_code ?? '91';
    const extra: Record<number, string | Uint8Array> = {};
    if (row.auth_code) extra[38] = row.auth_code;
    if (code === '00' && token && row.pos_entry_mode?.startsWith('07')) {
      const chip = await this.#checkArqc(ctx.brand, token, text(ctx.msg, 2)!, ctx.msg);
      if (!('reason' in chip)) extra[55] = await this.#issuerAuthenticationData(ctx.brand, token, text(ctx.msg, 2)!, chip, code);
    }
    ctx.log.info({ authorization_id: row.id, token_ref: row.token_ref, response_code: code, iso: logView(ctx.msg) }, 'retransmitted 0100: answered as recorded');
    return respond(ctx.msg, code, extra);
  }

  // ---- Events ----

  #facts(row: AuthorizationRow, token: { token_ref: string; token_requestor_id: string; device_id: string }): EventFacts {
    return {
      id: row.id,
      tokenRef: token.token_ref,
      brand: row.brand,
      trid: token.token_requestor_id,
      deviceId: token.device_id,
      amount: Number(row.amount),
      currency: row.currency,
      merchantName: row.merchant_name,
      mcc: row.mcc,
      posEntryMode: row.pos_entry_mode,
      status: row.status,
      responseCode: row.response_code,
      authCode: row.auth_code,
      declineReason: row.decline_reason,
      occurredAt: new Date(row.created_at),
    };
  }

  #factsOf(auth: NewAuthorization, token: SwitchToken, r: { status: AuthorizationStatus; responseCode: string; authCode: string | null; declineReason: string | null }): EventFacts {
    return {
      id: auth.id,
      tokenRef: token.token_ref,
      brand: auth.brand,
      trid: token.token_requestor_id,
      deviceId: token.device_id,
      amount: auth.amount,
      currency: auth.currency,
      merchantName: auth.merchantName,
      mcc: auth.mcc,
      posEntryMode: auth.posEntryMode,
      status: r.status,
      responseCode: r.responseCode,
      authCode: r.authCode,
      declineReason: r.declineReason,
      occurredAt: auth.createdAt,
    };
  }

  /**
   * `network.transaction` (aggregate: the token), written with the change it reports: the platform's
   * transaction history and the push to the device. No card number, no token number, no ICC data.
   * An authorization may have several (its answer, then `reversed`); `network_transaction_id` ties them.
   */
  #eventRow(f: EventFacts): OutboxRow {
    const eventId = newId('evt');
    // Also written by the repository's own statements: the console ties the event to this request's trace.
    announceEnqueued(eventId);
    return {
      eventId,
      topic: 'network.transaction',
      aggregateId: f.tokenRef,
      payload: {
        token_ref: f.tokenRef,
        brand: f.brand,
        trid: f.trid,
        device_id: f.deviceId,
        amount: f.amount,
        currency: f.currency,
        merchant_name: f.merchantName,
        mcc: f.mcc,
        status: f.status,
        response_code: f.responseCode,
        auth_code: f.authCode,
        decline_reason: f.declineReason,
        type: f.posEntryMode?.startsWith('07') ? 'nfc' : 'inapp',
        network_transaction_id: f.id,
        occurred_at: f.occurredAt.toISOString(),
      },
    };
  }

  /** The event in the caller's transaction (infra/outbox.ts). */
  async #event(tx: Sql, f: EventFacts): Promise<void> {
    const e = this.#eventRow(f);
    await enqueue(tx, { topic: e.topic, aggregateId: e.aggregateId, payload: e.payload, eventId: e.eventId });
  }

  // ---- Reversals ----

  /**
   * Records the reversal owed to the issuer for an authorization (at most one: the unique constraint).
   * The message is fixed now with the network's own STAN and DE 7, and stored without DE 2; DE 90 names
   * the 0100 as the issuer received it (the acquirer's DE 11, DE 7 and DE 32).
   */
  async #recordReversal(tx: Sql, row: AuthorizationRow, reason: NewIssuerReversal['reason'], mti: '0400' | '0420', nextAttemptAt: Date, attempts: number): Promise<string | null> {
    if (!row.token_ref || !row.issuer_id) return null;
    const now = this.deps.clock();
    const stan = await switchRepo.nextStan(tx);
    const fields: Record<number, string> = {
      3: row.processing_code,
      4: String(row.amount).padStart(12, '0'),
      7: transmissionDateTime(now),
      11: stan,
      41: row.terminal_id,
      49: row.currency,
      90: originalDataElements({ mti: '0100', stan: row.stan, transmitted: row.transmitted, acquirerInstitution: row.acquiring_institution }),
    };
    if (row.acquiring_institution) fields[32] = row.acquiring_institution;
    if (row.rrn) fields[37] = row.rrn;
    if (row.merchant_id) fields[42] = row.merchant_id;
    const id = newId('nrev', now.getTime());
    const created = await switchRepo.insertReversal(tx, {
      id,
      authorizationId: row.id,
      tokenRef: row.token_ref,
      brand: row.brand,
      issuerId: row.issuer_id,
      reason,
      mti,
      stan,
      message: packMessage({ mti, fields }),
      attempts,
      nextAttemptAt,
      createdAt: now,
    });
    return created ? id : null;
  }

  /** 0400 / 0420 from an acquirer: the original reversed once at the issuer; always acknowledged. */
  async #reverse(brand: Brand, acquirerId: string, msg: IsoMessage, log: Logger): Promise<IsoMessage> {
    const { db, settings } = this.deps;
    const de90 = text(msg, 90);
    const original = de90 === undefined ? null : parseOriginalDataElements(de90);
    if (!original || original.mti !== '0100' || text(msg, 11) === undefined || text(msg, 7) === undefined) {
      log.info({ iso: logView(msg) }, 'reversal without usable original data elements: answered 12');
      return respond(msg, '12');
    }
    let rows = await switchRepo.authorizationsByTransmission(db, acquirerId, original.stan, original.transmitted, text(msg, 41) ?? null);
    const rrn = text(msg, 37);
    if (rows.length !== 1 && rrn !== undefined) rows = await switchRepo.authorizationsByRrn(db, acquirerId, rrn);
    const found = rows.length === 1 && rows[0]!.brand === brand ? rows[0]! : undefined;
    if (!found) {
      // Nothing reached the issuer through this network under that key: acknowledged, nothing recorded.
      log.info({ iso: logView(msg) }, 'reversal for an authorization this network never saw: acknowledged (00), nothing to reverse');
      return respond(msg, '00');
    }
    const amount = text(msg, 4);
    if (amount !== undefined && Number(amount) !== Number(found.amount)) {
      log.warn({ authorization_id: found.id }, 'reversal whose DE 4 differs from the original (partial reversals are not supported): answered 12');
      return respond(msg, '12');
    }

    const mti = msg.mti === '0420' ? '0420' : '0400';
    const now = this.deps.clock();
    const lease = new Date(now.getTime() + settings.issuerTimeoutMs + this.#backoffMs(1));
    const outcome = await db.tx(
      async (tx) => {
        const row = await switchRepo.lockAuthorization(tx, found.id);
        if (!row || !(await switchRepo.setReversed(tx, row.id, now))) return { previous: row?.status ?? null, reversalId: null, sendNow: false };
        // An original still with the issuer: its reversal waits until the 0100 has surely been answered there.
        const sendNow = row.status !== 'pending';
        const next = sendNow ? lease : new Date(now.getTime() + settings.issuerTimeoutMs + settings.reversal.firstDelayMs);
        const reversalId = await this.#recordReversal(tx, row, mti === '0420' ? 'acquirer_advice' : 'acquirer_reversal', mti, next, sendNow ? 1 : 0);
        if (row.token_ref) {
          const t = await networkRepo.tokenByRef(tx, row.token_ref);
          if (t) await this.#event(tx, this.#facts({ ...row, status: 'reversed' }, t));
        }
        return { previous: row.status, reversalId, sendNow: sendNow && reversalId !== null };
      },
      { isolation: 'read committed' },
    );
    log.info({ authorization_id: found.id, token_ref: found.token_ref, original_status: outcome.previous, reversal_id: outcome.reversalId, iso: logView(msg) }, 'acquirer reversal accepted');
    if (outcome.sendNow && outcome.reversalId) {
      const claimed = await switchRepo.reversalToSend(db, outcome.reversalId);
      if (claimed) await this.#sendReversal(claimed, log);
    }
    return respond(msg, '00');
  }

  #backoffMs(attempts: number): number {
    return reversalBackoffMs(this.deps.settings.reversal, attempts);
  }

  /**
   * Delivers the reversals owed to issuers: first answers for authorizations left pending by a process
   * that stopped (timed out, 91, and a reversal owed), then sends what is due, each until the issuer
   * acknowledges it (a 0410/0430 other than 91/96) or the reversal policy gives up (src/infra/reversal-policy.ts). Overlapping calls share
   * one pass; several processes may run it (claims move the next attempt past a lease first). Returns
   * how many reversals were acknowledged.
   */
  runPendingReversals(): Promise<number> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #pass(): Promise<number> {
    const { db, settings } = this.deps;
    await this.#sweepStale();
    const now = this.deps.clock();
    const lease = (attempts: number) => new Date(now.getTime() + settings.issuerTimeoutMs + this.#backoffMs(attempts));
    const claimed = await db.tx((tx) => switchRepo.claimDueReversals(tx, now, lease, settings.reversal.batchSize), { isolation: 'read committed' });
    let acknowledged = 0;
    for (const r of claimed) if (await this.#sendReversal(r, this.deps.logger)) acknowledged++;
    return acknowledged;
  }

  async #sweepStale(): Promise<void> {
    const { db, settings, logger } = this.deps;
    const now = this.deps.clock();
    const cutoff = new Date(now.getTime() - settings.issuerTimeoutMs - settings.staleGraceMs);
    for (const stale of await switchRepo.stalePending(db, cutoff, settings.reversal.batchSize)) {
      const expired = await db.tx(
        async (tx) => {
          if (!(await switchRepo.expirePending(tx, stale.id, now))) return false;
          const row = (await switchRepo.lockAuthorization(tx, stale.id))!;
          await this.#recordReversal(tx, row, 'stale', '0400', now, 0);
          if (row.token_ref) {
            const t = await networkRepo.tokenByRef(tx, row.token_ref);
            if (t) await this.#event(tx, this.#facts(row, t));
          }
          return true;
        },
        { isolation: 'read committed' },
      );
      if (expired) logger.warn({ authorization_id: stale.id, token_ref: stale.token_ref }, 'authorization left pending by a process that stopped: timed out (91), reversal owed to the issuer');
    }
  }

  /** One attempt at one reversal; true when the issuer acknowledged it. */
  async #sendReversal(r: ClaimedIssuerReversal, log: Logger): Promise<boolean> {
    const { db, vault, issuerIso, settings } = this.deps;
    let problem: string;
    if (!issuerIso) {
      problem = 'no issuer link configured';
    } else {
      const message = unpackMessage(r.message);
      message.fields[2] = await vault.decryptString(r.pan_encrypted, vaultContext.pan(r.token_ref));
      const outcome = await exchangeWithIssuer(issuerIso, r.brand, r.issuer_id, packMessage(message), settings.issuerTimeoutMs);
      if (outcome.kind === 'answer') {
        const m = outcome.message;
        const code = text(m, 39);
        const stan = text(m, 11);
        if (m.mti === responseMti(r.mti) && code !== undefined && (stan === undefined || stan === r.stan) && !RETRY_CODES.has(code)) {
          const done = await switchRepo.acknowledgeReversal(db, r.id, code, this.deps.clock());
          log.info({ reversal_id: r.id, authorization_id: r.authorization_id, brand: r.brand, issuer_id: r.issuer_id, response_code: code, attempts: r.attempts }, 'issuer reversal acknowledged');
          return done;
        }
        problem = m.mti !== responseMti(r.mti) || code === undefined ? 'answer is not the reversal response with DE 39' : stan !== r.stan ? 'answer is for another STAN' : `issuer answered ${code}`;
      } else if (outcome.kind === 'refused') {
        problem = `issuer refused the message (${outcome.status}${outcome.code ? ` ${outcome.code}` : ''})`;
      } else {
        problem = `no answer (${outcome.reason})`;
      }
    }
    const status = await switchRepo.reversalAttemptFailed(db, r.id, problem, settings.reversal.maxAttempts);
    const entry = { reversal_id: r.id, authorization_id: r.authorization_id, brand: r.brand, issuer_id: r.issuer_id, attempts: r.attempts, problem };
    if (status === 'failed') log.error(entry, 'issuer reversal given up after its last attempt: the operator must settle it with the issuer');
    else log.warn({ ...entry, next_in_ms: this.#backoffMs(r.attempts) }, 'issuer reversal not acknowledged: will retry');
    return false;
  }
}

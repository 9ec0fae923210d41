import { randomBytes, randomInt, type KeyObject } from 'node:crypto';
import { CompactEncrypt } from 'jose';
import type { Database, Sql } from '../infra/db/database.js';
import { isUniqueViolation } from '../infra/db/database.js';
import { AppError } from '../infra/errors.js';
import { newId } from '../infra/ids.js';
import type { EnvelopeCipher } from '../infra/keys/envelope.js';
import { toHex } from '../protocol/bytes.js';
import { generateToken, isTokenBin, last4, validatePan } from '../protocol/cards/index.js';
import { Secret } from '../protocol/secret.js';
import { BRAND_PROFILES, cvnText, type Brand, type BrandCvn } from './brands.js';
import { checkDeviceCa, verifySeCertificate } from './certificates.js';
import type { EncryptionKeys, PublicEncryptionKey } from './encryption-keys.js';
import { issuerFailure } from './errors.js';
import type { Hsm } from './hsm.js';
import type { CardVerification, IssuerDirectory, IssuerGateway, IssuerMessage, VerificationMethod } from './issuers.js';
import { enqueueIssuerTokenEvent } from './issuer-events.js';
import { networkRepo as repo, type Product, type TokenRow } from './repository.js';
import type { TokenDirectory } from './token-directory.js';

/** Runs one phase as its own transaction and records its result (the HTTP layer's `ctx.step`). */
export type Step = <T>(name: string, fn: (tx: Sql) => Promise<T>) => Promise<T>;

/** docs/provisioning.md, "ProvisioningResult". */
export interface ProvisioningResult {
  object: 'provisioning';
  token_ref: string;
  status: 'active' | 'inactive';
  card: { last4: string; exp_month: number; exp_year: number; product: Product; issuer_id: string; issuer_name: string; par: string };
  token: { last4: string; exp_month: number; exp_year: number };
  verification: { id: string; methods: VerificationMethod[] } | null;
  provisioning_payload: string | null;
}

export interface CreateTokenInput {
  token_requestor_id: string;
  encrypted_card: string;
  device: { id: string; kind: 'phone' | 'watch'; se_certificate_pem: string };
  wallet_account_id: string;
  device_score: number;
}

/** docs/provisioning.md, "Provisioning payload": the plaintext of the JWE to the SE key. */
export interface ProvisioningPayload {
  v: 1;
  token_ref: string;
  network: Brand;
  token_pan: string;
  /** YYMM */
  token_exp: string;
  psn: string;
  aid: string;
  label: string;
  cvn: BrandCvn;
  key: { alg: '3des' | 'aes'; mk: string; kcv: string };
  par: string;
  token_requestor_id: string;
  card_last4: string;
  issued_at: string;
}

export interface TokenView {
  token_ref: string;
  status: TokenRow['status'];
  domains: string[];
  /** The token's last four digits. */
  last4: string;
}

interface CardData {
  pan: Secret;
  cvv: Secret;
  expMonth: number;
  expYear: number;
  name: string | undefined;
}

/** What the issuer step recorded (a recovery point: a retry never asks the issuer again). */
type IssuerOutcome =
  | { kind: 'green' }
  | { kind: 'yellow'; verification: { id: string; methods: VerificationMethod[] } }
  | { kind: 'red'; decline_code: string }
  | { kind: 'error'; code: string; message: string; decline_code: string | null }
  | { kind: 'abandoned' };

/** A reservation (token row waiting for the issuer) untouched this long is taken as abandoned. */
export const RESERVATION_TIMEOUT_SECONDS = 600;
/** A step-up (yellow) whose code was never confirmed this long is taken as abandoned. */
export const STEP_UP_TIMEOUT_SECONDS = 24 * 3600;
/** Device tokens: usable in store and in apps, always with a cryptogram. */
const DEVICE_DOMAINS = ['contactless', 'inapp'];
const PSN = '00';
const PAR_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export const vaultContext = {
  pan: (tokenRef: string) => `network.tokens:pan:${tokenRef}`,
  tokenPan: (tokenRef: string) => `network.tokens:token_pan:${tokenRef}`,
};

export interface NetworkServiceDeps {
  db: Database;
  hsm: Hsm;
  keys: EncryptionKeys;
  vault: EnvelopeCipher;
  /** One gateway for every brand, or one per brand (e.g. clients with each brand's network API key). */
  issuers: IssuerGateway | Readonly<Record<Brand, IssuerGateway>>;
  directory: IssuerDirectory;
  clock: () => Date;
  /** The switch's token lookup (cache-aside): every status change invalidates the token's entry. */
  tokens?: TokenDirectory;
}

/**
 * The card networks as token service providers (one service, four brands): token requestor
 * registration, card-data decryption, ID&V with the issuer, token issuance into the vault, per-token
 * keys from the HSM, and the provisioning payload encrypted to the device's Secure Element.
 */
export class NetworkService {
  constructor(private readonly deps: NetworkServiceDeps) {}

  #issuers(brand: Brand): IssuerGateway {
    const i = this.deps.issuers;
    return 'createCardVerification' in i && typeof i.createCardVerification === 'function' ? (i as IssuerGateway) : (i as Readonly<Record<Brand, IssuerGateway>>)[brand];
  }

  /**
   * Clears the switch's cached view of the token. Call it after EVERY status change of a token
   * (activate, suspend, resume, delete, PAN update): the switch caches active tokens for five minutes.
   * Never fails (the cache degrades); the switch re-checks the status in the database in any case.
   */
  async invalidateToken(tokenRef: string): Promise<void> {
    await this.deps.tokens?.invalidate(tokenRef);
  }

  encryptionKey(brand: Brand): Promise<PublicEncryptionKey> {
    return this.deps.keys.publicKey(brand);
  }

  /** Registers a token requestor (wallet platform) with its device CA; ids are the brand's TSP code + 8 digits. */
  async registerTokenRequestor(tx: Sql, brand: Brand, input: { name: string; device_ca_pem: string }): Promise<{ id: string; object: 'token_requestor'; name: string }> {
    checkDeviceCa(input.device_ca_pem, this.deps.clock());
    const { tspCode } = BRAND_PROFILES[brand];
    for (let i = 0; i < 20; i++) {
      const id = `${tspCode}${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;
      if (await repo.insertTokenRequestor(tx, { id, brand, name: input.name, deviceCaPem: input.device_ca_pem.trim() })) {
        return { id, object: 'token_requestor', name: input.name };
      }
    }
    throw new Error('no free token requestor id');
  }

  /**
   * POST /tokens. Phases (each a recovery point, so a retry with the same Idempotency-Key never makes a
   * second token nor asks the issuer twice): 1 `reserve` the token (the vault row, inactive, guarded by
   * the one-token-per-device-per-card index); then the issuer's ID&V, outside any transaction; 2
   * `issuer` records its answer; 3 `activate` (green) makes the token active with its payload.
   */
  async provision(brand: Brand, ownerId: string, input: CreateTokenInput, step: Step, requestKey: string | null = null): Promise<ProvisioningResult> {
    const { db, vault, directory } = this.deps;
    if (input.token_requestor_id !== ownerId) {
      throw new AppError('permission_denied', { param: 'token_requestor_id', message: 'These credentials belong to another token requestor.' });
    }
    const requestor = await repo.tokenRequestor(db, input.token_requestor_id);
    if (!requestor || requestor.brand !== brand || requestor.status !== 'active') {
      throw new AppError('resource_missing', { param: 'token_requestor_id', message: `No such token requestor with ${BRAND_PROFILES[brand].name}.` });
    }

    const card = await this.#decryptCard(brand, input.encrypted_card);
    this.#checkCardNumber(brand, card.pan);
    const seKey = await verifySeCertificate(input.device.se_certificate_pem, requestor.device_ca_pem, input.device.id, this.deps.clock());
    const issuerId = directory.issuerIdForPan(card.pan);
    if (!issuerId) throw new AppError('card_not_supported');
    const panFingerprint = await vault.fingerprint(card.pan.reveal());

    // Phase 1: reserve the token.
    const tokenRef = await this.#reserve(brand, input, card, issuerId, panFingerprint, step, requestKey);

    // The issuer's ID&V, outside any transaction (it cannot be rolled back). Asked only while the
    // reservation still waits for it: after a crash past phase 2, a retry goes on from the record.
    const reserved = await repo.tokenByRef(db, tokenRef);
    let answer: { ok: CardVerification } | { failed: AppError } | null = null;
    if (reserved && reserved.status === 'inactive' && reserved.idv === 'pending') {
      try {
        answer = {
          ok: await this.#issuers(brand).createCardVerification(issuerId, {
            pan: card.pan.reveal(),
            exp_month: card.expMonth,
            exp_year: card.expYear,
            cvv: card.cvv.reveal(),
            ...(card.name !== undefined ? { name: card.name } : {}),
            network: brand,
            token_requestor_id: input.token_requestor_id,
            token_ref: tokenRef,
            device: { id: input.device.id, kind: input.device.kind },
            device_score: input.device_score,
          }),
        };
      } catch (err) {
        answer = { failed: issuerFailure(err) };
      }
    }

    // Phase 2: record the issuer's answer.
    const outcome = await step('issuer', (tx) => this.#recordIssuerAnswer(tx, brand, tokenRef, issuerId, panFingerprint, answer));
    switch (outcome.kind) {
      case 'abandoned':
        throw abandonedRequest();
      case 'error':
        throw new AppError(outcome.code, { message: outcome.message, ...(outcome.decline_code ? { declineCode: outcome.decline_code } : {}) });
      case 'red':
        throw new AppError('provisioning_declined', { declineCode: outcome.decline_code });
      case 'yellow': {
        const row = (await repo.tokenByRef(db, tokenRef))!;
        return toResult(row, outcome.verification, null);
      }
      case 'green':
        break;
    }

    // Phase 3: the payload (made outside the transaction: it needs the vault and the HSM), then activation.
    const row = (await repo.tokenByRef(db, tokenRef))!;
    const payload = await this.#payload(row, seKey);
    const activated = await step('activate', async (tx) => ((await repo.activate(tx, tokenRef, 'green')) && (await this.#created(tx, tokenRef, 'idv_green')) ? { provisioning_payload: payload } : null));
    if (!activated) throw new AppError('resource_conflict', { message: 'The token changed state while it was being created.' });
    await this.invalidateToken(tokenRef);
    return toResult((await repo.tokenByRef(db, tokenRef))!, null, activated.provisioning_payload);
  }

  async #reserve(brand: Brand, input: CreateTokenInput, card: CardData, issuerId: string, panFingerprint: Buffer, step: Step, requestKey: string | null): Promise<string> {
    const { db, vault } = this.deps;
    for (let attempt = 0; ; attempt++) {
      const tokenPan = this.#newTokenNumber(brand);
      const tokenFingerprint = await vault.fingerprint(tokenPan.reveal());
      // A collision with an existing token is rare (1 in 10^9 per token); draw another number.
      if (attempt < 5 && (await repo.tokenFingerprintTaken(db, tokenFingerprint))) continue;
      const tokenRef = newId('tok');
      const [tokenPanEncrypted, panEncrypted] = await Promise.all([
        vault.encrypt(tokenPan.reveal(), vaultContext.tokenPan(tokenRef)),
        vault.encrypt(card.pan.reveal(), vaultContext.pan(tokenRef)),
      ]);
      try {
        const reserved = await step('reserve', async (tx) => {
          // The requestor cancelled this request (it lost it in a crash): it makes no token, even late.
          if (requestKey !== null && (await repo.requestCancelled(tx, input.token_requestor_id, requestKey))) throw abandonedRequest();
          const live = await repo.liveTokenForDeviceCard(tx, input.device.id, panFingerprint, RESERVATION_TIMEOUT_SECONDS, STEP_UP_TIMEOUT_SECONDS);
          if (live) {
            // Only an abandoned attempt gives way (a request that died, a code never entered); anything
            // else is this card on this device.
            if (!live.stale) throw new AppError('card_already_provisioned');
            await repo.failVerificationOf(tx, live.token_ref);
            await repo.recordFailure(tx, live.token_ref, 'failed', 'abandoned');
          }
          await repo.insertToken(tx, {
            tokenRef,
            brand,
            tokenPanEncrypted,
            tokenFingerprint,
            tokenLast4: last4(tokenPan.reveal()),
            // The token expires with the card (the issuer's reissue re-maps it).
            tokenExpMonth: card.expMonth,
            tokenExpYear: card.expYear,
            psn: PSN,
            panEncrypted,
            panFingerprint,
            cardLast4: last4(card.pan.reveal()),
            cardExpMonth: card.expMonth,
            cardExpYear: card.expYear,
            issuerId,
            tokenRequestorId: input.token_requestor_id,
            deviceId: input.device.id,
            deviceKind: input.device.kind,
            seCertificatePem: input.device.se_certificate_pem.trim(),
            walletAccountId: input.wallet_account_id,
            domains: DEVICE_DOMAINS,
            cryptogramRequired: true,
            cvn: cvnText(BRAND_PROFILES[brand].cvn),
            requestKey,
          });
          return { token_ref: tokenRef };
        });
        return reserved.token_ref;
      } catch (err) {
        if (isUniqueViolation(err, 'tokens_token_fingerprint_unique') && attempt < 5) continue;
        // Two requests for the same card and device at once: the index lets one through.
        if (isUniqueViolation(err, 'tokens_device_card_unique')) throw new AppError('card_already_provisioned');
        throw err;
      }
    }
  }

  async #recordIssuerAnswer(
    tx: Sql,
    brand: Brand,
    tokenRef: string,
    issuerId: string,
    panFingerprint: Buffer,
    answer: { ok: CardVerification } | { failed: AppError } | null,
  ): Promise<IssuerOutcome> {
    const token = await repo.tokenByRef(tx, tokenRef, true);
    if (!token || token.status !== 'inactive' || token.idv !== 'pending' || answer === null) return { kind: 'abandoned' };
    if ('failed' in answer) {
      const e = answer.failed;
      await repo.recordFailure(tx, tokenRef, 'failed', e.code);
      return { kind: 'error', code: e.code, message: e.message, decline_code: e.declineCode ?? null };
    }
    const v = answer.ok;
    if (v.decision === 'red') {
      const declineCode = v.reasons[0] ?? 'declined';
      await repo.recordFailure(tx, tokenRef, 'red', declineCode, v.id);
      return { kind: 'red', decline_code: declineCode };
    }
    if (v.decision !== 'green' && v.decision !== 'yellow') {
      const e = new AppError('downstream_failed');
      await repo.recordFailure(tx, tokenRef, 'failed', e.code, v.id);
      return { kind: 'error', code: e.code, message: e.message, decline_code: null };
    }
    const par = await repo.parFor(tx, panFingerprint, parCandidate(brand, v.card.par_seed), brand);
    const product: Product = v.card.product === 'debit' || v.card.product === 'prepaid' ? v.card.product : 'credit';
    const issuerName = v.card.issuer_name ?? this.deps.directory.issuerName(issuerId) ?? null;
    await repo.recordApproval(tx, tokenRef, { idv: v.decision, product, issuerName, issuerVerificationId: v.id, par });
    if (v.decision === 'green') return { kind: 'green' };
    const methods = (v.methods ?? []).map((m) => ({ id: m.id, type: m.type, destination: m.destination }));
    const verification = { id: newId('ver'), methods };
    await repo.insertVerification(tx, { id: verification.id, tokenRef, issuerId, issuerVerificationId: v.id, methods });
    return { kind: 'yellow', verification };
  }

  /** POST /verifications/:id/otp: asks the issuer to send a one-time code by the chosen method. */
  async sendOtp(brand: Brand, ownerId: string, verificationId: string, methodId: string): Promise<{ id: string; object: 'verification'; sent: true; expires_at: string }> {
    const { verification, token } = await this.#ownVerification(brand, ownerId, verificationId);
    if (token.status !== 'inactive' || token.idv !== 'yellow' || verification.status !== 'pending') {
      throw new AppError('resource_conflict', { message: 'This verification is no longer waiting for a code.' });
    }
    if (!verification.methods.some((m) => m.id === methodId)) {
      throw new AppError('parameter_invalid', { param: 'method_id', message: "Invalid body parameter 'method_id': not one of this verification's methods." });
    }
    let sent: { expires_at: string };
    try {
      sent = await this.#issuers(brand).sendVerificationOtp(verification.issuer_id, verification.issuer_verification_id, methodId);
    } catch (err) {
      throw issuerFailure(err);
    }
    return { id: verification.id, object: 'verification', sent: true, expires_at: sent.expires_at };
  }

  /**
   * POST /verifications/:id/confirm: the issuer checks the code; on success the token becomes active
   * and its payload is made. The first confirmation's answer is kept by the idempotency layer; another
   * request for an already active token is a conflict.
   */
  async confirm(brand: Brand, ownerId: string, verificationId: string, code: string, step: Step): Promise<ProvisioningResult> {
    const { db } = this.deps;
    const { verification, token } = await this.#ownVerification(brand, ownerId, verificationId);
    if (token.status === 'active') {
      // A resumed request whose activation was recorded gets its own answer back; any other is a conflict.
      const recorded = await step('activate', async () => null as { provisioning_payload: string } | null);
      if (recorded) return toResult(token, { id: verification.id, methods: verification.methods }, recorded.provisioning_payload);
      throw new AppError('resource_conflict', { message: 'This verification is already confirmed: the token is active.' });
    }
    if (token.status !== 'inactive' || token.idv !== 'yellow' || verification.status === 'failed') {
      throw new AppError('resource_conflict', { message: 'This verification is no longer waiting for a code.' });
    }
    const requestor = await repo.tokenRequestor(db, token.token_requestor_id);
    if (!requestor) throw new AppError('resource_missing');
    const seKey = await verifySeCertificate(token.se_certificate_pem, requestor.device_ca_pem, token.device_id, this.deps.clock());

    // Asked only while our record says the issuer has not confirmed yet (a resumed request goes on).
    if (verification.status === 'pending') {
      try {
        await this.#issuers(brand).confirmVerification(verification.issuer_id, verification.issuer_verification_id, code);
      } catch (err) {
        const e = issuerFailure(err);
        if (e.code === 'verification_locked') {
          // Final at the issuer: the reservation ends, so the card can be added again from the start.
          await step('fail', async (tx) => {
            await repo.setVerificationStatus(tx, verification.id, 'failed');
            await repo.recordFailure(tx, token.token_ref, 'failed', 'verification_locked');
            return true;
          });
        }
        throw e;
      }
      await step('issuer_confirm', async (tx) => {
        await repo.setVerificationStatus(tx, verification.id, 'confirmed');
        return true;
      });
    }

    const payload = await this.#payload(token, seKey);
    const activated = await step('activate', async (tx) => ((await repo.activate(tx, token.token_ref, 'yellow')) && (await this.#created(tx, token.token_ref, 'idv_verified')) ? { provisioning_payload: payload } : null));
    if (!activated) throw new AppError('resource_conflict', { message: 'This verification is already confirmed: the token is active.' });
    await this.invalidateToken(token.token_ref);
    const row = (await repo.tokenByRef(db, token.token_ref))!;
    return toResult(row, { id: verification.id, methods: verification.methods }, activated.provisioning_payload);
  }

  /** GET /verifications/:id/sandbox-messages: the simulated SMS / e-mails the issuer sent for it. */
  async sandboxMessages(brand: Brand, ownerId: string, verificationId: string): Promise<{ object: 'list'; data: IssuerMessage[]; has_more: false }> {
    const { verification } = await this.#ownVerification(brand, ownerId, verificationId);
    let answer: { data: IssuerMessage[] } | IssuerMessage[];
    try {
      answer = await this.#issuers(brand).verificationMessages(verification.issuer_id, verification.issuer_verification_id);
    } catch (err) {
      throw issuerFailure(err);
    }
    const list = Array.isArray(answer) ? answer : answer.data;
    return {
      object: 'list',
      data: list.map((m) => ({ channel: m.channel, destination: m.destination, body: m.body, created_at: new Date(m.created_at).toISOString() })),
      has_more: false,
    };
  }

  /** GET /tokens/:token_ref: only the token requestor's own tokens (another's is "no such object"). */
  async getToken(brand: Brand, ownerId: string, tokenRef: string): Promise<TokenView> {
    const row = tokenRef.startsWith('tok_') ? await repo.tokenByRef(this.deps.db, tokenRef) : undefined;
    if (!row || row.brand !== brand || row.token_requestor_id !== ownerId) throw new AppError('resource_missing', { param: 'token_ref' });
    return { token_ref: row.token_ref, status: row.status, domains: [...row.domains], last4: row.token_last4 };
  }

  async #ownVerification(brand: Brand, ownerId: string, verificationId: string) {
    const { db } = this.deps;
    const verification = verificationId.startsWith('ver_') ? await repo.verificationById(db, verificationId) : undefined;
    const token = verification ? await repo.tokenByRef(db, verification.token_ref) : undefined;
    if (!verification || !token || token.brand !== brand || token.token_requestor_id !== ownerId) throw new AppError('resource_missing', { param: 'id' });
    return { verification, token };
  }

  async #decryptCard(brand: Brand, jwe: string): Promise<CardData> {
    const plaintext = await this.deps.keys.decrypt(brand, jwe);
    let data: unknown;
    try {
      data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
    } catch {
      data = undefined;
    } finally {
      plaintext.fill(0);
    }
    const invalid = () => new AppError('encrypted_card_invalid', { param: 'encrypted_card' });
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalid();
    const d = data as Record<string, unknown>;
    if (typeof d.pan !== 'string' || d.pan.length > 32) throw invalid();
    if (!Number.isInteger(d.exp_month) || (d.exp_month as number) < 1 || (d.exp_month as number) > 12) throw invalid();
    if (!Number.isInteger(d.exp_year) || (d.exp_year as number) < 2000 || (d.exp_year as number) > 2099) throw invalid();
    if (typeof d.cvv !== 'string' || !/^\d{3,4}$/.test(d.cvv)) throw invalid();
    if (d.name !== undefined && (typeof d.name !== 'string' || d.name.length > 100)) throw invalid();
    return {
      // Spaces are how people write card numbers; nothing else is taken out.
      pan: Secret.pan(d.pan.replace(/ /g, '')),
      cvv: new Secret(d.cvv),
      expMonth: d.exp_month as number,
      expYear: d.exp_year as number,
      name: d.name as string | undefined,
    };
  }

  #checkCardNumber(brand: Brand, pan: Secret): void {
    const v = validatePan(pan.reveal());
    if (!v.ok) {
      if (v.reason === 'unknown_bin') throw new AppError('card_not_supported');
      throw new AppError('card_number_invalid', { param: 'encrypted_card' });
    }
    if (v.network !== brand || isTokenBin(pan.reveal())) {
      throw new AppError('card_not_supported', { message: `This card number is not a ${BRAND_PROFILES[brand].name} card number this network can add.` });
    }
  }

  /** A fresh token number in the brand's token range: Luhn-valid, never a card number. */
  #newTokenNumber(brand: Brand): Secret {
    const number = generateToken(brand, (n) => randomBytes(n));
    const v = validatePan(number);
    if (!isTokenBin(number) || !v.ok || v.network !== brand) throw new Error('token number outside the token range');
    return Secret.pan(number);
  }

  /**
   * A fresh provisioning payload for a live token (a key refresh: with the PSN and token number it is
   * about to get, `change`), encrypted to the SE certificate it was provisioned to (checked against its requestor's
   * device CA again), exactly as provisioning makes it.
   */
  async provisioningPayloadFor(tokenRef: string, change: Partial<Pick<TokenRow, 'psn' | 'token_pan_encrypted'>> = {}): Promise<string> {
    const { db } = this.deps;
    const current = await repo.tokenByRef(db, tokenRef);
    const token = current ? { ...current, ...change } : undefined;
    if (!token) throw new AppError('resource_missing', { param: 'token_ref' });
    const requestor = await repo.tokenRequestor(db, token.token_requestor_id);
    if (!requestor) throw new AppError('resource_missing', { param: 'token_ref' });
    const seKey = await verifySeCertificate(token.se_certificate_pem, requestor.device_ca_pem, token.device_id, this.deps.clock());
    return this.#payload(token, seKey);
  }

  /** A fresh token number in the brand's token range (a key refresh that changes the number). */
  newTokenNumber(brand: Brand): Secret {
    return this.#newTokenNumber(brand);
  }

  /** The issuer hears of its card's new token (outbox, in the activation's transaction). */
  async #created(tx: Sql, tokenRef: string, reason: string): Promise<true> {
    const row = (await repo.tokenByRef(tx, tokenRef))!;
    await enqueueIssuerTokenEvent(tx, row, { type: 'token.created', status: 'active', reason, actor: 'network', occurred_at: this.deps.clock().toISOString() });
    return true;
  }

  /** The provisioning payload JSON, encrypted (compact JWE, ECDH-ES+A256KW / A256GCM) to the SE's key. */
  async #payload(token: TokenRow, seKey: KeyObject): Promise<string> {
    const { vault, hsm } = this.deps;
    const profile = BRAND_PROFILES[token.brand];
    const tokenPan = Secret.pan(await vault.decryptString(token.token_pan_encrypted, vaultContext.tokenPan(token.token_ref)));
    const key = await hsm.deriveTokenKey(token.brand, tokenPan, token.psn);
    const payload: ProvisioningPayload = {
      v: 1,
      token_ref: token.token_ref,
      network: token.brand,
      token_pan: tokenPan.reveal(),
      token_exp: `${String(token.token_exp_year % 100).padStart(2, '0')}${String(token.token_exp_month).padStart(2, '0')}`,
      psn: token.psn,
      aid: profile.aid,
      label: profile.label(token.product),
      cvn: profile.cvn,
      key: { alg: key.alg, mk: toHex(key.mk), kcv: key.kcv },
      par: token.par!,
      token_requestor_id: token.token_requestor_id,
      card_last4: token.card_last4,
      issued_at: this.deps.clock().toISOString(),
    };
    key.mk.fill(0);
    const plaintext = new TextEncoder().encode(JSON.stringify(payload));
    try {
      return await new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', cty: 'provisioning+json' }).encrypt(seKey);
    } finally {
      plaintext.fill(0);
    }
  }
}

/** A request that was abandoned or cancelled: a definite answer, the card can be added again with a new request. */
export function abandonedRequest(): AppError {
  return new AppError('resource_conflict', { message: 'This provisioning request was abandoned; send a new request.' });
}

function parCandidate(brand: Brand, seed: string | undefined): string {
  const prefix = BRAND_PROFILES[brand].parPrefix;
  if (typeof seed === 'string' && /^[0-9A-Z]{25}$/.test(seed)) return prefix + seed;
  let out = '';
  while (out.length < 25) out += PAR_ALPHABET[randomInt(0, PAR_ALPHABET.length)];
  return prefix + out;
}

function toResult(t: TokenRow, verification: { id: string; methods: VerificationMethod[] } | null, payload: string | null): ProvisioningResult {
  return {
    object: 'provisioning',
    token_ref: t.token_ref,
    status: t.status === 'active' ? 'active' : 'inactive',
    card: {
      last4: t.card_last4,
      exp_month: t.card_exp_month,
      exp_year: t.card_exp_year,
      product: t.product ?? 'credit',
      issuer_id: t.issuer_id,
      issuer_name: t.issuer_name ?? t.issuer_id,
      par: t.par ?? '',
    },
    token: { last4: t.token_last4, exp_month: t.token_exp_month, exp_year: t.token_exp_year },
    verification,
    provisioning_payload: payload,
  };
}

/**
 * The Secure Element: holds the device's payment tokens and their keys, and answers a narrow,
 * APDU-like set of commands. Nothing it returns carries a token number or a key: the wallet app
 * learns a token's ref, network, last four digits, label and status, and nothing more.
 *
 * Its keys are non-extractable WebCrypto keys kept in the device storage (as IndexedDB keeps
 * CryptoKey objects): a P-256 ECDH key pair to which networks encrypt provisioning payloads, and an
 * AES-256-GCM key under which every record it persists is sealed (card records with their per-token
 * master keys, the device certificate, the used authorization nonces). The storage sees only
 * ciphertext and key handles.
 *
 * Payments: the contactless payment applet (applet.ts) runs inside this module and answers the
 * reader's APDUs through processApdu; prepareContactless arms it (with a Secure Enclave authorization
 * for consumer-device CVM), setTransitCard picks the express transit card.
 */
import { CompactEncrypt, compactDecrypt, importJWK } from 'jose';
import { bytesEqual, fromHex, isHex, toHex, utf8 } from '../protocol/bytes.js';
import { NETWORKS, detectNetwork, isTokenBin, validatePan, type Network } from '../protocol/cards/index.js';
import { aesKeyCheckValue, generateOnlineCryptogram, keyCheckValue, merchantBinding, onlineUnpredictableNumber, type OnlineKeyScheme } from '../protocol/emv/index.js';
import { SW } from '../protocol/apdu/apdu.js';
import {
  ATC_MAX,
  AppletRefusal,
  DEFAULT_TRANSIT_LIMIT,
  PaymentApplet,
  TRANSIT_MCCS,
  type AppletCard,
  type AppletHost,
  type CryptogramContext,
  type TapRecord,
  type TransitPolicy,
} from './applet.js';
import { DeviceError, type DeviceErrorCode } from './errors.js';
import {
  AUTHORIZATION_PURPOSES,
  AUTHORIZATION_TTL_MS,
  MAX_CHALLENGE_BYTES,
  NONCE_BYTES,
  authorizationMessage,
  type Authorization,
  type AuthorizationPurpose,
} from './pairing.js';
import { SerialQueue, bs, createSealingKey, isCryptoKey, seal, unseal } from './sealed.js';
import type { DeviceStorage } from './storage.js';

export type CardStatus = 'active' | 'suspended';
export type KeyScheme = '3des' | 'aes';

/** What install answers: nothing secret. */
export interface InstalledCard {
  tokenRef: string;
  network: Network;
  tokenLast4: string;
  label: string;
}

export interface SeCard extends InstalledCard {
  status: CardStatus;
}

export interface SecureElementOptions {
  /** The key shared with the Secure Enclave at device set-up (see pairing.ts); stored, replacing any earlier one. */
  pairingKey?: CryptoKey;
  /** Milliseconds since the epoch; injected in tests. */
  clock?: () => number;
  /** Express transit: the most it pays without authorization (minor units, default 2500) and where (default MCCs 4111, 4131, 4784). */
  transit?: { limit?: number; mccs?: readonly string[] };
}

/** What prepareContactless answers: whether the next tap will signal consumer-device CVM. */
export interface ContactlessArming {
  tokenRef: string;
  /** True when the authorization was accepted: the next tap within its 60 s signals CDCVM. */
  cdcvm: boolean;
  /** When the authorization stops giving CDCVM (ms since the epoch), or null without one. */
  cdcvmExpiresAt: number | null;
  /** Why an authorization that was given was not accepted (the card is armed without CDCVM). */
  reason?: DeviceErrorCode;
}

export type { TapRecord, TransitPolicy } from './applet.js';

/** The platform's key for in-app payments (as the platform's nonce answer carries it). */
export interface PlatformPaymentKey {
  kid: string;
  alg: string;
  enc: string;
  jwk: JsonWebKey;
}

/** What makeInAppPayment binds the cryptogram to. */
export interface SeInAppPaymentInput {
  /** The platform's one-time nonce (16 to 64 bytes). */
  nonce: Uint8Array;
  /** Minor units. */
  amount: number;
  /** ISO 4217 numeric, 3 digits. */
  currency: string;
  /** The merchant identifier of the merchant session. */
  merchantIdentifier: string;
  encryptionKey: PlatformPaymentKey;
}

export interface InAppPaymentOutput {
  /** Compact JWE to the platform's payment key: token number, expiry, cryptogram, ECI, amount, currency, nonce. */
  encryptedPayment: string;
  /** The ATC the cryptogram carries. */
  atc: number;
  network: Network;
  tokenLast4: string;
}

/** The ECI the SE puts in in-app payments of the networks that use one (the user was verified on the device). */
export const INAPP_ECI = '5';

/** What the SE keeps per token, sealed. Never leaves this module. */
interface CardRecord {
  v: 1;
  tokenRef: string;
  network: Network;
  tokenPan: string;
  /** YYMM. */
  tokenExp: string;
  psn: string;
  aid: string;
  label: string;
  cvn: number | string;
  key: { alg: KeyScheme; mk: string };
  par: string | null;
  tokenRequestorId: string | null;
  cardLast4: string | null;
  issuedAt: string | null;
  installedAt: number;
  status: CardStatus;
  /** Application transaction counter (2 bytes): every cryptogram increments it first; it only goes up. */
  atc: number;
}

interface KeysRecord {
  v: 1;
  agreementPrivate: CryptoKey;
  agreementPublic: CryptoKey;
  sealing: CryptoKey;
}

const SLOT_KEYS = 'se:keys';
const SLOT_PAIRING = 'se:pairing';
const SLOT_CERTIFICATE = 'se:certificate';
const SLOT_NONCES = 'se:nonces';
const SLOT_TRANSIT = 'se:transit';
/** Bytes of a challenge the SE issues for a Secure Enclave authorization. */
const CHALLENGE_BYTES = 16;
const CARD_PREFIX = 'se:card:';

/** Largest provisioning payload JWE accepted (a real one is about 1.5 KB). */
const MAX_PAYLOAD_CHARS = 16 * 1024;
/** How far in the future an authorization's issuedAt may be (the two chips read one clock; this absorbs rounding). */
const CLOCK_SKEW_MS = 1_000;
const TOKEN_REF = /^tok_[0-9A-Za-z]{1,64}$/;
const PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\r?\n(?:[A-Za-z0-9+/=]{1,76}\r?\n)+-----END CERTIFICATE-----\s*$/;

export class SecureElement {
  readonly #storage: DeviceStorage;
  readonly #keys: KeysRecord;
  readonly #clock: () => number;
  readonly #queue = new SerialQueue();
  readonly #applet = new PaymentApplet();
  readonly #host: AppletHost;
  readonly #transit: TransitPolicy;
  /** The challenge last issued per purpose, waiting for the Enclave's authorization (in memory only). */
  readonly #challenges = new Map<AuthorizationPurpose, Uint8Array>();
  /** The card armed for the next tap, with the issue time of its accepted authorization (in memory: a reboot disarms). */
  #armed: { tokenRef: string; authorizedAt: number | null } | null = null;
  #lastTap: TapRecord | null = null;

  private constructor(storage: DeviceStorage, keys: KeysRecord, clock: () => number, transit: TransitPolicy) {
    this.#storage = storage;
    this.#keys = keys;
    this.#clock = clock;
    this.#transit = transit;
    this.#host = this.#makeHost();
  }

  /** Loads the SE kept in `storage`, or creates its keys on first use. */
  static async open(storage: DeviceStorage, options: SecureElementOptions = {}): Promise<SecureElement> {
    const transit = transitPolicy(options.transit);
    let keys = await storage.get(SLOT_KEYS);
    if (keys === undefined) {
      const pair = (await globalThis.crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])) as CryptoKeyPair;
      keys = { v: 1, agreementPrivate: pair.privateKey, agreementPublic: pair.publicKey, sealing: await createSealingKey() } satisfies KeysRecord;
      await storage.put(SLOT_KEYS, keys);
    }
    if (!isKeysRecord(keys)) throw new DeviceError('se_storage_corrupt', 'secure element keys in storage are not usable');
    const se = new SecureElement(storage, keys, options.clock ?? Date.now, transit);
    if (options.pairingKey !== undefined) await se.pair(options.pairingKey);
    return se;
  }

  /** True when `storage` already holds a Secure Element. */
  static async exists(storage: DeviceStorage): Promise<boolean> {
    return (await storage.get(SLOT_KEYS)) !== undefined;
  }

  // --- Keys and certificate ----------------------------------------------------------------------

  /** The public half of the provisioning key pair, as a P-256 JWK (kty, crv, x, y). */
  async publicKeyJwk(): Promise<JsonWebKey> {
    const jwk = await globalThis.crypto.subtle.exportKey('jwk', this.#keys.agreementPublic);
    return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  }

  /** Keeps the certificate the platform's device CA issued for the SE key, and that CA's certificate. */
  async setCertificate(pem: string, caPem: string): Promise<void> {
    if (!isPemCertificate(pem) || !isPemCertificate(caPem)) {
      throw new DeviceError('se_certificate_invalid', 'certificate must be one PEM CERTIFICATE block');
    }
    await this.#queue.run(() => this.#put(SLOT_CERTIFICATE, { pem, caPem }));
  }

  /** The stored certificates (public data), or null before registration. */
  async certificate(): Promise<{ pem: string; caPem: string } | null> {
    const value = (await this.#get(SLOT_CERTIFICATE)) as { pem: string; caPem: string } | undefined;
    return value ?? null;
  }

  // --- Pairing with the Secure Enclave ------------------------------------------------------------

  /** Stores the pairing key shared with the Secure Enclave (replacing an earlier pairing). */
  async pair(key: CryptoKey): Promise<void> {
    if (!isCryptoKey(key, 'secret', 'HMAC') || !key.usages.includes('verify')) {
      throw new DeviceError('se_request_invalid', 'pairing key must be an HMAC key usable to verify');
    }
    await this.#queue.run(() => this.#storage.put(SLOT_PAIRING, key));
  }

  /**
   * Accepts a Secure Enclave authorization for one use: a valid MAC under the pairing key, the
   * expected purpose and challenge, issued within the last 60 s, a nonce never accepted before.
   * Throws a DeviceError otherwise (se_not_paired, se_authorization_invalid / _mismatch / _expired / _replayed).
   */
  async verifyAuthorization(auth: Authorization, expected: { purpose: AuthorizationPurpose; challenge: Uint8Array }): Promise<void> {
    await this.#queue.run(() => this.#verifyAuthorization(auth, expected));
  }

  async #verifyAuthorization(auth: Authorization, expected: { purpose: AuthorizationPurpose; challenge: Uint8Array }): Promise<void> {
    if (!(AUTHORIZATION_PURPOSES as readonly string[]).includes(expected?.purpose) || !(expected.challenge instanceof Uint8Array)) {
      throw new DeviceError('se_request_invalid', 'expected purpose and challenge are required');
    }
    const key = await this.#storage.get(SLOT_PAIRING);
    if (!isCryptoKey(key, 'secret', 'HMAC')) throw new DeviceError('se_not_paired', 'secure element is not paired with a secure enclave');
    const parsed = parseAuthorization(auth);
    if (!parsed) throw new DeviceError('se_authorization_invalid', 'authorization is malformed');
    const message = authorizationMessage(parsed.purpose, parsed.challenge, parsed.nonce, parsed.issuedAt);
    const valid = await globalThis.crypto.subtle.verify('HMAC', key, bs(parsed.mac), bs(message));
    if (!valid) throw new DeviceError('se_authorization_invalid', 'authorization MAC does not verify');
    if (parsed.purpose !== expected.purpose || !bytesEqual(parsed.challenge, expected.challenge)) {
      throw new DeviceError('se_authorization_mismatch', 'authorization was issued for another purpose or transaction');
    }
    const now = this.#clock();
    if (parsed.issuedAt > now + CLOCK_SKEW_MS) throw new DeviceError('se_authorization_invalid', 'authorization is dated in the future');
    if (now - parsed.issuedAt > AUTHORIZATION_TTL_MS) throw new DeviceError('se_authorization_expired', 'authorization is older than 60 seconds');

    const nonceHex = toHex(parsed.nonce);
    const stored = ((await this.#get(SLOT_NONCES)) ?? {}) as Record<string, number>;
    if (Object.hasOwn(stored, nonceHex)) throw new DeviceError('se_authorization_replayed', 'authorization was already used');
    // Only nonces still inside their lifetime need remembering: an older one is refused as expired anyway.
    const kept: Record<string, number> = {};
    for (const [nonce, at] of Object.entries(stored)) if (now - at <= AUTHORIZATION_TTL_MS + CLOCK_SKEW_MS) kept[nonce] = at;
    kept[nonceHex] = parsed.issuedAt;
    await this.#put(SLOT_NONCES, kept);
  }

  // --- Cards ------------------------------------------------------------------------------------

  /**
   * Installs a provisioning payload: a compact JWE (ECDH-ES+A256KW, A256GCM, cty provisioning+json)
   * from the network to this SE's key. Validates every field and the key check value, stores the card
   * sealed, and answers only non-secret facts. Installing a token_ref again replaces that card.
   * `expect.tokenRef`: the token the platform says this payload is for; a payload for another is refused.
   */
  async install(payloadJwe: string, expect: { tokenRef?: string } = {}): Promise<InstalledCard> {
    if (typeof payloadJwe !== 'string' || payloadJwe.length === 0 || payloadJwe.length > MAX_PAYLOAD_CHARS) {
      throw new DeviceError('se_payload_invalid', 'provisioning payload is not a compact JWE of acceptable size');
    }
    let plaintext: Uint8Array;
    let cty: unknown;
    try {
      const result = await compactDecrypt(payloadJwe, this.#keys.agreementPrivate, {
        keyManagementAlgorithms: ['ECDH-ES+A256KW'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      plaintext = result.plaintext;
      cty = result.protectedHeader.cty;
    } catch {
      throw new DeviceError('se_payload_invalid', 'provisioning payload does not decrypt with this secure element key');
    }
    try {
      if (cty !== 'provisioning+json') throw new DeviceError('se_payload_invalid', 'provisioning payload content type must be provisioning+json');
      let payload: unknown;
      try {
        payload = JSON.parse(utf8.decode(plaintext));
      } catch {
        throw new DeviceError('se_payload_invalid', 'provisioning payload is not JSON');
      }
      const record = await parsePayload(payload, this.#clock());
      if (expect.tokenRef !== undefined && expect.tokenRef !== record.tokenRef) {
        throw new DeviceError('se_payload_invalid', 'provisioning payload is for another token');
      }
      await this.#queue.run(async () => {
        // The same token installed again keeps its ATC: the counter only goes up (a network refuses a lower one).
        const existing = await this.#card(record.tokenRef).catch(() => null);
        if (existing && existing.tokenPan === record.tokenPan && isAtc(existing.atc)) record.atc = existing.atc;
        await this.#put(CARD_PREFIX + record.tokenRef, record);
        if (this.#armed?.tokenRef === record.tokenRef) this.#applet.reset();
      });
      return { tokenRef: record.tokenRef, network: record.network, tokenLast4: record.tokenPan.slice(-4), label: record.label };
    } finally {
      plaintext.fill(0);
    }
  }

  /** The cards in this SE, oldest installation first. */
  async listCards(): Promise<SeCard[]> {
    const refs = (await this.#storage.keys()).filter((k) => k.startsWith(CARD_PREFIX)).map((k) => k.slice(CARD_PREFIX.length));
    const records: CardRecord[] = [];
    for (const ref of refs) {
      const record = await this.#card(ref);
      if (record) records.push(record);
    }
    records.sort((a, b) => a.installedAt - b.installedAt || (a.tokenRef < b.tokenRef ? -1 : 1));
    return records.map((r) => ({ tokenRef: r.tokenRef, network: r.network, tokenLast4: r.tokenPan.slice(-4), label: r.label, status: r.status }));
  }

  /** Removes a card and its keys from the SE. */
  async deleteCard(tokenRef: string): Promise<void> {
    await this.#queue.run(async () => {
      await this.#requireCard(tokenRef);
      await this.#storage.delete(CARD_PREFIX + tokenRef);
      if (this.#armed?.tokenRef === tokenRef) this.#armed = null;
      if ((await this.#transitRef()) === tokenRef) await this.#storage.delete(SLOT_TRANSIT);
      this.#applet.reset();
    });
  }

  /** Suspends or resumes a card (a suspended card will make no cryptogram). */
  async setStatus(tokenRef: string, status: CardStatus): Promise<void> {
    if (status !== 'active' && status !== 'suspended') throw new DeviceError('se_request_invalid', 'status must be active or suspended');
    await this.#queue.run(async () => {
      const record = await this.#requireCard(tokenRef);
      if (record.status === status) return;
      await this.#put(CARD_PREFIX + tokenRef, { ...record, status });
    });
  }

  // --- Payments: in apps and on the web (docs/inapp.md) ----------------------------------------------

  /**
   * Makes the online payment cryptogram for an in-app / web payment and encrypts the payment for the
   * platform. Needs a Secure Enclave authorization (purpose `inapp`) over the challenge newChallenge
   * issued, verified and used up here. Increments and persists the card's ATC (the one contactless
   * uses too) before the cryptogram, which binds the platform's nonce, the amount, the currency and
   * the merchant identifier (src/protocol/emv/online-cryptogram.ts). The answer carries no token
   * number and no key: the payment is a compact JWE (ECDH-ES+A256KW / A256GCM, cty inapp-payment+json)
   * to the platform's payment key. Throws se_card_unknown, se_request_invalid (suspended card, bad
   * input, ATC exhausted), se_authorization_* or se_not_paired.
   */
  async makeInAppPayment(tokenRef: string, input: SeInAppPaymentInput, authorization: Authorization): Promise<InAppPaymentOutput> {
    const nonce = input?.nonce;
    if (!(nonce instanceof Uint8Array) || nonce.length < 16 || nonce.length > 64) throw new DeviceError('se_request_invalid', 'nonce must be 16 to 64 bytes');
    if (!Number.isSafeInteger(input.amount) || input.amount < 0 || input.amount > 999_999_999_999) throw new DeviceError('se_request_invalid', 'amount must be an integer in minor units');
    if (typeof input.currency !== 'string' || !/^\d{3}$/.test(input.currency)) throw new DeviceError('se_request_invalid', 'currency must be an ISO 4217 numeric code');
    if (typeof input.merchantIdentifier !== 'string' || input.merchantIdentifier.length === 0 || input.merchantIdentifier.length > 255) {
      throw new DeviceError('se_request_invalid', 'merchant identifier must be 1 to 255 characters');
    }
    const key = await importPlatformKey(input.encryptionKey);
    const un = await onlineUnpredictableNumber(nonce);
    const merchant = await merchantBinding(input.merchantIdentifier);
    return this.#queue.run(async () => {
      const record = await this.#requireCard(tokenRef);
      if (record.status !== 'active') throw new DeviceError('se_request_invalid', 'card is suspended');
      const challenge = this.#challenges.get('inapp');
      this.#challenges.delete('inapp');
      if (!challenge) throw new DeviceError('se_authorization_mismatch', 'no in-app challenge was issued');
      await this.#verifyAuthorization(authorization, { purpose: 'inapp', challenge });
      if (!isAtc(record.atc)) throw new DeviceError('se_storage_corrupt', 'a card record in storage is not usable');
      if (record.atc >= ATC_MAX) throw new DeviceError('se_request_invalid', 'application transaction counter exhausted');
      const atc = record.atc + 1;
      await this.#put(CARD_PREFIX + tokenRef, { ...record, atc });
      const scheme: OnlineKeyScheme = record.key.alg === '3des' ? '3des' : record.cvn === 'D1' ? 'D1' : 'A1';
      const mk = fromHex(record.key.mk);
      let cryptogram: Uint8Array;
      try {
        cryptogram = await generateOnlineCryptogram(scheme, mk, { atc, un, merchant, amount: input.amount, currency: input.currency });
      } finally {
        mk.fill(0);
      }
      const eci = record.network === 'mastercard' ? undefined : INAPP_ECI;
      const payment = {
        v: 1,
        token_ref: record.tokenRef,
        token_pan: record.tokenPan,
        token_exp: record.tokenExp,
        online_payment_cryptogram: toBase64(cryptogram),
        ...(eci !== undefined ? { eci_indicator: eci } : {}),
        amount: input.amount,
        currency: input.currency,
        merchant_binding: toHex(merchant),
        nonce: toHex(nonce).toLowerCase(),
      };
      const plaintext = utf8.encode(JSON.stringify(payment));
      try {
        const jwe = await new CompactEncrypt(plaintext)
          .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: input.encryptionKey.kid, cty: 'inapp-payment+json' })
          .encrypt(key);
        return { encryptedPayment: jwe, atc, network: record.network, tokenLast4: record.tokenPan.slice(-4) };
      } finally {
        plaintext.fill(0);
      }
    });
  }

  // --- Payments: the contactless applet ------------------------------------------------------------
  // The cryptogram commands arrive as APDUs (processApdu) and are answered by the payment applet
  // (applet.ts) running inside this module: it reaches card records only through #host, sees a card's
  // master key only inside #generate (for one cryptogram, zeroed after), and every cryptogram first
  // increments and persists the card's ATC. CDCVM comes only from an authorization verified here.

  /**
   * A fresh random challenge (16 bytes) for the Secure Enclave to sign for `purpose`; it replaces any
   * earlier one of that purpose and is used once (prepareContactless takes the `contactless` one).
   */
  async newChallenge(purpose: AuthorizationPurpose): Promise<Uint8Array> {
    if (!(AUTHORIZATION_PURPOSES as readonly string[]).includes(purpose)) {
      throw new DeviceError('se_request_invalid', 'purpose must be contactless, inapp or provision');
    }
    const challenge = globalThis.crypto.getRandomValues(new Uint8Array(CHALLENGE_BYTES));
    this.#challenges.set(purpose, challenge);
    return challenge.slice();
  }

  /**
   * Arms the applet for the next tap with this card (the wallet's default card). With an
   * authorization from the Secure Enclave (purpose `contactless`, over the challenge newChallenge
   * issued), verified here and used up, the tap within 60 s of its issue signals consumer-device CVM.
   * An authorization that does not verify (expired, replayed, another purpose or challenge, forged)
   * does not stop the arming: the card is armed without CDCVM and `reason` says why. Without one the
   * card is armed without CDCVM. Throws se_card_unknown, or se_request_invalid for a suspended card.
   * The arming lasts until the next cryptogram, another arming, cancelContactless or a reopen.
   */
  async prepareContactless(tokenRef: string, authorization: Authorization | null): Promise<ContactlessArming> {
    return this.#queue.run(async () => {
      const record = await this.#requireCard(tokenRef);
      if (record.status !== 'active') throw new DeviceError('se_request_invalid', 'card is suspended');
      this.#applet.reset();
      this.#armed = null;
      let authorizedAt: number | null = null;
      let reason: DeviceErrorCode | undefined;
      if (authorization !== null && authorization !== undefined) {
        const challenge = this.#challenges.get('contactless');
        this.#challenges.delete('contactless');
        try {
          if (!challenge) throw new DeviceError('se_authorization_mismatch', 'no contactless challenge was issued');
          await this.#verifyAuthorization(authorization, { purpose: 'contactless', challenge });
          authorizedAt = authorization.issuedAt;
        } catch (err) {
          if (!(err instanceof DeviceError) || err.code === 'se_storage_corrupt') throw err;
          reason = err.code;
        }
      }
      this.#armed = { tokenRef, authorizedAt };
      return {
        tokenRef,
        cdcvm: authorizedAt !== null,
        cdcvmExpiresAt: authorizedAt === null ? null : authorizedAt + AUTHORIZATION_TTL_MS,
        ...(reason !== undefined ? { reason } : {}),
      };
    });
  }

  /** Disarms: the next tap finds only the express transit card, if any. */
  async cancelContactless(): Promise<void> {
    await this.#queue.run(async () => {
      this.#armed = null;
      this.#applet.reset();
    });
  }

  /** Chooses the express transit card (kept sealed), or none. */
  async setTransitCard(tokenRef: string | null): Promise<void> {
    await this.#queue.run(async () => {
      this.#applet.reset();
      if (tokenRef === null) {
        await this.#storage.delete(SLOT_TRANSIT);
        return;
      }
      await this.#requireCard(tokenRef);
      await this.#put(SLOT_TRANSIT, { tokenRef });
    });
  }

  /** The express transit card's token ref, or null. */
  async transitCard(): Promise<string | null> {
    return this.#transitRef();
  }

  /** The express transit rules this SE applies. */
  transitPolicy(): TransitPolicy {
    return { limit: this.#transit.limit, mccs: [...this.#transit.mccs] };
  }

  /**
   * The contactless interface: answers one ISO 7816-4 command APDU (SELECT, GET PROCESSING OPTIONS,
   * READ RECORD, GENERATE AC, GET DATA) with its response data and status word. Never throws for a
   * bad command: every problem is a status word (see applet.ts).
   */
  async processApdu(command: Uint8Array): Promise<Uint8Array> {
    const copy = command instanceof Uint8Array ? Uint8Array.from(command) : command;
    return this.#queue.run(() => this.#applet.process(copy, this.#host));
  }

  /** What the last cryptogram was for (amount, merchant, ATC, CDCVM), for the wallet to show; null before any. */
  lastTap(): TapRecord | null {
    return this.#lastTap === null ? null : { ...this.#lastTap };
  }

  #makeHost(): AppletHost {
    return {
      transit: this.#transit,
      tapCard: async () => {
        const armed = this.#armed;
        const ref = armed ? armed.tokenRef : await this.#transitRef();
        if (ref === null) return null;
        const record = await this.#card(ref);
        if (!record || record.status !== 'active') return null;
        return { card: appletCard(record), armed: armed !== null };
      },
      cdcvmAvailable: (tokenRef) => {
        const armed = this.#armed;
        if (!armed || armed.tokenRef !== tokenRef || armed.authorizedAt === null) return false;
        const now = this.#clock();
        return armed.authorizedAt <= now + CLOCK_SKEW_MS && now - armed.authorizedAt <= AUTHORIZATION_TTL_MS;
      },
      generate: (tokenRef, compute) => this.#generate(tokenRef, compute),
      record: (tap) => {
        this.#lastTap = { ...tap };
      },
      atc: async (tokenRef) => {
        const record = await this.#card(tokenRef);
        return record && isAtc(record.atc) ? record.atc : null;
      },
    };
  }

  /** Runs inside processApdu's queued command: ATC up and persisted, arming used up, then the computation with the key. */
  async #generate<T>(tokenRef: string, compute: (context: CryptogramContext) => Promise<T>): Promise<T> {
    const record = await this.#card(tokenRef);
    if (!record || record.status !== 'active') throw new AppletRefusal(SW.CONDITIONS_NOT_SATISFIED, 'card is not usable');
    if (!isAtc(record.atc)) throw new DeviceError('se_storage_corrupt', 'a card record in storage is not usable');
    if (record.atc >= ATC_MAX) throw new AppletRefusal(SW.CONDITIONS_NOT_SATISFIED, 'application transaction counter exhausted');
    const atc = record.atc + 1;
    await this.#put(CARD_PREFIX + tokenRef, { ...record, atc });
    // The arming and its authorization are used by this cryptogram, whatever the terminal does next.
    this.#armed = null;
    const mk = fromHex(record.key.mk);
    try {
      return await compute({ atc, mk });
    } finally {
      mk.fill(0);
    }
  }

  async #transitRef(): Promise<string | null> {
    const value = (await this.#get(SLOT_TRANSIT)) as { tokenRef?: unknown } | undefined;
    return typeof value?.tokenRef === 'string' ? value.tokenRef : null;
  }

  // --- Internals ---------------------------------------------------------------------------------

  /** The sealed card record for a token ref, or null when there is none. The only reader of card keys. */
  async #card(tokenRef: string): Promise<CardRecord | null> {
    if (typeof tokenRef !== 'string' || !TOKEN_REF.test(tokenRef)) return null;
    const value = await this.#get(CARD_PREFIX + tokenRef);
    if (value === undefined) return null;
    if (!isCardRecord(value) || value.tokenRef !== tokenRef) throw new DeviceError('se_storage_corrupt', 'a card record in storage is not usable');
    return value;
  }

  async #requireCard(tokenRef: string): Promise<CardRecord> {
    const record = await this.#card(tokenRef);
    if (!record) throw new DeviceError('se_card_unknown', 'no such card in this secure element');
    return record;
  }

  async #get(slot: string): Promise<unknown> {
    try {
      return await unseal(this.#keys.sealing, slot, await this.#storage.get(slot));
    } catch {
      throw new DeviceError('se_storage_corrupt', 'a secure element record does not open');
    }
  }

  async #put(slot: string, value: unknown): Promise<void> {
    await this.#storage.put(slot, await seal(this.#keys.sealing, slot, value));
  }
}

// --- Payments helpers ------------------------------------------------------------------------------

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** The platform's payment key as a WebCrypto key, or se_request_invalid. */
async function importPlatformKey(k: PlatformPaymentKey | undefined): Promise<CryptoKey> {
  const jwk = k?.jwk;
  if (
    k?.alg !== 'ECDH-ES+A256KW' ||
    k.enc !== 'A256GCM' ||
    typeof k.kid !== 'string' ||
    k.kid.length === 0 ||
    k.kid.length > 255 ||
    typeof jwk !== 'object' ||
    jwk === null ||
    jwk.kty !== 'EC' ||
    jwk.crv !== 'P-256' ||
    typeof jwk.x !== 'string' ||
    typeof jwk.y !== 'string' ||
    'd' in jwk
  ) {
    throw new DeviceError('se_request_invalid', 'the platform payment key is not a P-256 ECDH-ES+A256KW / A256GCM public key');
  }
  try {
    return (await importJWK({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, 'ECDH-ES+A256KW')) as CryptoKey;
  } catch {
    throw new DeviceError('se_request_invalid', 'the platform payment key does not import');
  }
}

/** The card data the applet may see: everything but the key. */
function appletCard(record: CardRecord): AppletCard {
  return {
    tokenRef: record.tokenRef,
    network: record.network,
    tokenPan: record.tokenPan,
    tokenExp: record.tokenExp,
    psn: record.psn,
    aid: record.aid,
    label: record.label,
    cvn: record.cvn,
    tokenRequestorId: record.tokenRequestorId,
    par: record.par,
  };
}

function isAtc(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= ATC_MAX;
}

function transitPolicy(options: SecureElementOptions['transit']): TransitPolicy {
  const limit = options?.limit ?? DEFAULT_TRANSIT_LIMIT;
  const mccs = options?.mccs ?? TRANSIT_MCCS;
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > 999_999_999_999) {
    throw new DeviceError('se_request_invalid', 'transit limit must be a non-negative integer amount in minor units');
  }
  if (!Array.isArray(mccs) || mccs.some((m) => typeof m !== 'string' || !/^\d{4}$/.test(m))) {
    throw new DeviceError('se_request_invalid', 'transit merchant category codes must be 4 digits each');
  }
  return Object.freeze({ limit, mccs: Object.freeze([...mccs]) });
}

// --- Payload validation ---------------------------------------------------------------------------

function invalid(message: string): DeviceError {
  return new DeviceError('se_payload_invalid', message);
}

function optionalString(value: unknown, field: string, max = 128): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > max) throw invalid(`provisioning payload ${field} must be a string`);
  return value;
}

/** Checks a decrypted provisioning payload against docs/provisioning.md and builds the card record. */
async function parsePayload(value: unknown, now: number): Promise<CardRecord> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('provisioning payload must be an object');
  const p = value as Record<string, unknown>;
  if (p.v !== 1) throw invalid('provisioning payload version must be 1');
  if (typeof p.token_ref !== 'string' || !TOKEN_REF.test(p.token_ref)) throw invalid('provisioning payload token_ref is malformed');
  if (typeof p.network !== 'string' || !(NETWORKS as readonly string[]).includes(p.network)) throw invalid('provisioning payload network is unknown');
  const network = p.network as Network;
  if (typeof p.token_pan !== 'string' || !validatePan(p.token_pan).ok) throw invalid('provisioning payload token number is not a valid card number');
  if (detectNetwork(p.token_pan) !== network || !isTokenBin(p.token_pan)) throw invalid('provisioning payload token number is not in a token range of its network');
  if (typeof p.token_exp !== 'string' || !/^\d{2}(0[1-9]|1[0-2])$/.test(p.token_exp)) throw invalid('provisioning payload token_exp must be YYMM');
  if (typeof p.psn !== 'string' || !/^\d{2}$/.test(p.psn)) throw invalid('provisioning payload psn must be 2 digits');
  if (typeof p.aid !== 'string' || !isHex(p.aid) || p.aid.length < 10 || p.aid.length > 32) throw invalid('provisioning payload aid must be 5 to 16 bytes of hex');
  if (typeof p.label !== 'string' || p.label.length === 0 || p.label.length > 64) throw invalid('provisioning payload label must be 1 to 64 characters');
  const cvnOk = (typeof p.cvn === 'number' && Number.isInteger(p.cvn) && p.cvn >= 0 && p.cvn <= 255) || (typeof p.cvn === 'string' && /^[0-9A-Za-z]{1,4}$/.test(p.cvn));
  if (!cvnOk) throw invalid('provisioning payload cvn is malformed');

  const key = p.key;
  if (typeof key !== 'object' || key === null) throw invalid('provisioning payload key is missing');
  const k = key as Record<string, unknown>;
  if (k.alg !== '3des' && k.alg !== 'aes') throw invalid('provisioning payload key alg must be 3des or aes');
  if (typeof k.mk !== 'string' || k.mk.length !== 32 || !isHex(k.mk)) throw invalid('provisioning payload key mk must be 16 bytes of hex');
  if (typeof k.kcv !== 'string' || k.kcv.length !== 4 || !isHex(k.kcv)) throw invalid('provisioning payload key kcv must be 2 bytes of hex');
  const mk = fromHex(k.mk);
  try {
    const kcv = k.alg === '3des' ? keyCheckValue(mk) : await aesKeyCheckValue(mk);
    if (!bytesEqual(kcv, fromHex(k.kcv))) throw invalid('provisioning payload key check value does not match the key');
  } finally {
    mk.fill(0);
  }

  const cardLast4 = optionalString(p.card_last4, 'card_last4');
  if (cardLast4 !== null && !/^\d{4}$/.test(cardLast4)) throw invalid('provisioning payload card_last4 must be 4 digits');
  return {
    v: 1,
    tokenRef: p.token_ref,
    network,
    tokenPan: p.token_pan,
    tokenExp: p.token_exp,
    psn: p.psn,
    aid: p.aid.toUpperCase(),
    label: p.label,
    cvn: p.cvn as number | string,
    key: { alg: k.alg, mk: k.mk.toUpperCase() },
    par: optionalString(p.par, 'par'),
    tokenRequestorId: optionalString(p.token_requestor_id, 'token_requestor_id'),
    cardLast4,
    issuedAt: optionalString(p.issued_at, 'issued_at'),
    installedAt: now,
    status: 'active',
    atc: 0,
  };
}

function isCardRecord(value: unknown): value is CardRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<CardRecord>;
  return (
    r.v === 1 &&
    typeof r.tokenRef === 'string' &&
    typeof r.tokenPan === 'string' &&
    typeof r.label === 'string' &&
    (r.status === 'active' || r.status === 'suspended') &&
    typeof r.installedAt === 'number' &&
    typeof r.key === 'object' &&
    r.key !== null &&
    typeof r.key.mk === 'string'
  );
}

function isKeysRecord(value: unknown): value is KeysRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<KeysRecord>;
  return (
    r.v === 1 &&
    isCryptoKey(r.agreementPrivate, 'private', 'ECDH') &&
    isCryptoKey(r.agreementPublic, 'public', 'ECDH') &&
    isCryptoKey(r.sealing, 'secret', 'AES-GCM')
  );
}

function isPemCertificate(pem: unknown): pem is string {
  return typeof pem === 'string' && pem.length < 16 * 1024 && PEM_CERTIFICATE.test(pem);
}

interface ParsedAuthorization {
  purpose: AuthorizationPurpose;
  challenge: Uint8Array;
  nonce: Uint8Array;
  issuedAt: number;
  mac: Uint8Array;
}

function parseAuthorization(auth: unknown): ParsedAuthorization | null {
  if (typeof auth !== 'object' || auth === null) return null;
  const a = auth as Partial<Record<keyof Authorization, unknown>>;
  if (typeof a.purpose !== 'string' || !(AUTHORIZATION_PURPOSES as readonly string[]).includes(a.purpose)) return null;
  if (typeof a.challenge !== 'string' || !isHex(a.challenge) || a.challenge.length === 0 || a.challenge.length > MAX_CHALLENGE_BYTES * 2) return null;
  if (typeof a.nonce !== 'string' || !isHex(a.nonce) || a.nonce.length !== NONCE_BYTES * 2) return null;
  if (typeof a.issuedAt !== 'number' || !Number.isSafeInteger(a.issuedAt) || a.issuedAt < 0) return null;
  if (typeof a.mac !== 'string' || !isHex(a.mac) || a.mac.length !== 64) return null;
  return {
    purpose: a.purpose as AuthorizationPurpose,
    challenge: fromHex(a.challenge),
    nonce: fromHex(a.nonce),
    issuedAt: a.issuedAt,
    mac: fromHex(a.mac),
  };
}

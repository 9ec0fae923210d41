/**
 * The Secure Enclave: user verification (a simulated biometric sensor and the device passcode) and
 * the one-time authorizations it hands the Secure Element, MACed with the key the two share.
 *
 * Failure counting follows Apple's rules: biometric first; after 2 failed Face ID (3 failed Touch ID)
 * attempts the passcode is offered, biometric still allowed; after 5 failed biometric attempts in a
 * row the passcode is required and biometric refused until a correct passcode. Passcode failures are
 * counted as well: after 10 the enclave locks (here for good: a locked device must be set up again).
 *
 * The passcode is kept only as a PBKDF2-HMAC-SHA-256 hash, and the whole enclave state (hash,
 * counters) is sealed under the enclave's own non-extractable AES-GCM key, so editing storage cannot
 * reset a counter. A passcode attempt is counted before it is checked, so interrupting a check does
 * not save an attempt.
 */
import { bytesEqual, fromHex, toHex, utf8 } from '../protocol/bytes.js';
import { DeviceError } from './errors.js';
import { AUTHORIZATION_PURPOSES, MAX_CHALLENGE_BYTES, NONCE_BYTES, authorizationMessage, type Authorization, type AuthorizationPurpose } from './pairing.js';
import { SerialQueue, bs, createSealingKey, isCryptoKey, seal, unseal } from './sealed.js';
import type { DeviceStorage } from './storage.js';

export type BiometricKind = 'face' | 'finger';

export type AuthorizationMethod = { biometric: 'match' | 'no_match' } | { passcode: string };

export interface AuthorizeRequest {
  purpose: AuthorizationPurpose;
  /** The transaction's challenge (a terminal's unpredictable number, a platform nonce), 1 to 255 bytes. */
  challenge: Uint8Array;
  method: AuthorizationMethod;
}

export type AuthorizeResult =
  | { ok: true; authorization: Authorization }
  | {
      ok: false;
      reason: 'biometric_no_match' | 'passcode_incorrect';
      passcodeOffered: boolean;
      passcodeRequired: boolean;
      /** Passcode attempts left before the enclave locks (after a passcode failure). */
      attemptsLeft?: number;
      locked: boolean;
    };

export interface EnclaveState {
  biometric: BiometricKind | null;
  /** Failed biometric attempts in a row. */
  failedBiometric: number;
  /** Failed passcode attempts in a row. */
  failedPasscode: number;
  passcodeOffered: boolean;
  passcodeRequired: boolean;
  locked: boolean;
}

export interface SecureEnclaveOptions {
  /** Milliseconds since the epoch; injected in tests. */
  clock?: () => number;
  /** Random bytes for authorization nonces; injected in tests. Defaults to crypto.getRandomValues. */
  random?: (n: number) => Uint8Array;
}

export interface SecureEnclaveSetup extends SecureEnclaveOptions {
  storage: DeviceStorage;
  /** The key shared with the Secure Element (pairing.ts createPairingKey). */
  pairingKey: CryptoKey;
  /** The enrolled biometric, or null for a passcode-only device. */
  biometric: BiometricKind | null;
  /** 4 to 64 characters. Kept only as a PBKDF2 hash. */
  passcode: string;
  /** PBKDF2 iterations (default 600,000, OWASP's figure for PBKDF2-HMAC-SHA-256); tests lower it. */
  passcodeIterations?: number;
}

/** Failed attempts after which the passcode is offered, per biometric. */
export const PASSCODE_OFFERED_AFTER: Readonly<Record<BiometricKind, number>> = { face: 2, finger: 3 };
/** Failed biometric attempts in a row after which the passcode is required. */
export const PASSCODE_REQUIRED_AFTER = 5;
/** Failed passcode attempts after which the enclave locks. */
export const PASSCODE_MAX_FAILURES = 10;
const DEFAULT_ITERATIONS = 600_000;
const MIN_ITERATIONS = 1_000;

const SLOT_KEYS = 'enclave:keys';
const SLOT_STATE = 'enclave:state';

interface KeysRecord {
  v: 1;
  sealing: CryptoKey;
  pairing: CryptoKey;
}

interface StateRecord {
  v: 1;
  biometric: BiometricKind | null;
  passcode: { salt: string; iterations: number; hash: string };
  failedBiometric: number;
  failedPasscode: number;
  locked: boolean;
}

export class SecureEnclave {
  readonly #storage: DeviceStorage;
  readonly #keys: KeysRecord;
  readonly #clock: () => number;
  readonly #random: (n: number) => Uint8Array;
  readonly #queue = new SerialQueue();

  private constructor(storage: DeviceStorage, keys: KeysRecord, options: SecureEnclaveOptions) {
    this.#storage = storage;
    this.#keys = keys;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? ((n) => globalThis.crypto.getRandomValues(new Uint8Array(n)));
  }

  /** Sets up the enclave of a new device: enrols the biometric and passcode, keeps the pairing key. Replaces any earlier set-up. */
  static async create(setup: SecureEnclaveSetup): Promise<SecureEnclave> {
    if (setup.biometric !== null && setup.biometric !== 'face' && setup.biometric !== 'finger') {
      throw new DeviceError('enclave_setup_invalid', 'biometric must be face, finger or null');
    }
    if (typeof setup.passcode !== 'string' || setup.passcode.length < 4 || setup.passcode.length > 64) {
      throw new DeviceError('enclave_setup_invalid', 'passcode must be 4 to 64 characters');
    }
    if (!isCryptoKey(setup.pairingKey, 'secret', 'HMAC') || !setup.pairingKey.usages.includes('sign')) {
      throw new DeviceError('enclave_setup_invalid', 'pairing key must be an HMAC key usable to sign');
    }
    const iterations = setup.passcodeIterations ?? DEFAULT_ITERATIONS;
    if (!Number.isSafeInteger(iterations) || iterations < MIN_ITERATIONS) {
      throw new DeviceError('enclave_setup_invalid', `passcode iterations must be at least ${MIN_ITERATIONS}`);
    }
    const keys: KeysRecord = { v: 1, sealing: await createSealingKey(), pairing: setup.pairingKey };
    const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
    const state: StateRecord = {
      v: 1,
      biometric: setup.biometric,
      passcode: { salt: toHex(salt), iterations, hash: toHex(await passcodeHash(setup.passcode, salt, iterations)) },
      failedBiometric: 0,
      failedPasscode: 0,
      locked: false,
    };
    await setup.storage.put(SLOT_KEYS, keys);
    const enclave = new SecureEnclave(setup.storage, keys, setup);
    await enclave.#save(state);
    return enclave;
  }

  /** Loads the enclave of a device already set up. */
  static async open(storage: DeviceStorage, options: SecureEnclaveOptions = {}): Promise<SecureEnclave> {
    const keys = await storage.get(SLOT_KEYS);
    if (keys === undefined) throw new DeviceError('enclave_not_set_up', 'this device has no secure enclave set up');
    if (!isKeysRecord(keys)) throw new DeviceError('enclave_storage_corrupt', 'secure enclave keys in storage are not usable');
    const enclave = new SecureEnclave(storage, keys, options);
    await enclave.#load();
    return enclave;
  }

  /** True when `storage` already holds a Secure Enclave. */
  static async exists(storage: DeviceStorage): Promise<boolean> {
    return (await storage.get(SLOT_KEYS)) !== undefined;
  }

  /** The counters and what the user may do next. */
  async state(): Promise<EnclaveState> {
    return describe(await this.#load());
  }

  /**
   * Verifies the user and, on success, issues a one-time authorization for `purpose` bound to
   * `challenge`. A failed attempt answers `ok: false` with what the UI should offer next; refusals
   * that are not attempts throw: enclave_locked, enclave_passcode_required (biometric after 5
   * failures), enclave_biometric_not_enrolled, enclave_request_invalid.
   */
  async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    const { purpose, challenge, method } = request;
    if (!(AUTHORIZATION_PURPOSES as readonly string[]).includes(purpose)) {
      throw new DeviceError('enclave_request_invalid', 'purpose must be contactless, inapp or provision');
    }
    if (!(challenge instanceof Uint8Array) || challenge.length === 0 || challenge.length > MAX_CHALLENGE_BYTES) {
      throw new DeviceError('enclave_request_invalid', `challenge must be 1 to ${MAX_CHALLENGE_BYTES} bytes`);
    }
    if (typeof method !== 'object' || method === null) throw new DeviceError('enclave_request_invalid', 'method is missing');
    return this.#queue.run(async () => {
      const state = await this.#load();
      if (state.locked) throw new DeviceError('enclave_locked', 'secure enclave is locked after too many passcode failures');
      if ('biometric' in method) return this.#biometric(state, method.biometric, purpose, challenge);
      if ('passcode' in method) return this.#passcode(state, method.passcode, purpose, challenge);
      throw new DeviceError('enclave_request_invalid', 'method must be biometric or passcode');
    });
  }

  async #biometric(state: StateRecord, reading: unknown, purpose: AuthorizationPurpose, challenge: Uint8Array): Promise<AuthorizeResult> {
    if (reading !== 'match' && reading !== 'no_match') throw new DeviceError('enclave_request_invalid', 'biometric reading must be match or no_match');
    if (state.biometric === null) throw new DeviceError('enclave_biometric_not_enrolled', 'no biometric is enrolled on this device');
    if (state.failedBiometric >= PASSCODE_REQUIRED_AFTER) {
      throw new DeviceError('enclave_passcode_required', 'too many failed biometric attempts: the passcode is required');
    }
    if (reading === 'match') {
      if (state.failedBiometric !== 0) await this.#save({ ...state, failedBiometric: 0 });
      return { ok: true, authorization: await this.#issue(purpose, challenge) };
    }
    const next = { ...state, failedBiometric: state.failedBiometric + 1 };
    await this.#save(next);
    const d = describe(next);
    return { ok: false, reason: 'biometric_no_match', passcodeOffered: d.passcodeOffered, passcodeRequired: d.passcodeRequired, locked: false };
  }

  async #passcode(state: StateRecord, passcode: unknown, purpose: AuthorizationPurpose, challenge: Uint8Array): Promise<AuthorizeResult> {
    if (typeof passcode !== 'string' || passcode.length > 64) throw new DeviceError('enclave_request_invalid', 'passcode must be a string of at most 64 characters');
    // Counted before the check and forgiven after it, so cutting the check short saves no attempt.
    const failedPasscode = state.failedPasscode + 1;
    const counted: StateRecord = { ...state, failedPasscode, locked: failedPasscode >= PASSCODE_MAX_FAILURES };
    await this.#save(counted);
    const { salt, iterations, hash } = state.passcode;
    const ok = passcode.length > 0 && bytesEqual(await passcodeHash(passcode, fromHex(salt), iterations), fromHex(hash));
    if (ok) {
      await this.#save({ ...state, failedPasscode: 0, failedBiometric: 0, locked: false });
      return { ok: true, authorization: await this.#issue(purpose, challenge) };
    }
    const d = describe(counted);
    return {
      ok: false,
      reason: 'passcode_incorrect',
      passcodeOffered: true,
      passcodeRequired: d.passcodeRequired,
      attemptsLeft: Math.max(0, PASSCODE_MAX_FAILURES - failedPasscode),
      locked: counted.locked,
    };
  }

  async #issue(purpose: AuthorizationPurpose, challenge: Uint8Array): Promise<Authorization> {
    const nonce = this.#random(NONCE_BYTES);
    if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) throw new Error('random source gave the wrong number of bytes');
    const issuedAt = this.#clock();
    const mac = await globalThis.crypto.subtle.sign('HMAC', this.#keys.pairing, bs(authorizationMessage(purpose, challenge, nonce, issuedAt)));
    return { purpose, challenge: toHex(challenge), nonce: toHex(nonce), issuedAt, mac: toHex(new Uint8Array(mac)) };
  }

  async #load(): Promise<StateRecord> {
    let value: unknown;
    try {
      value = await unseal(this.#keys.sealing, SLOT_STATE, await this.#storage.get(SLOT_STATE));
    } catch {
      throw new DeviceError('enclave_storage_corrupt', 'secure enclave state does not open');
    }
    if (!isStateRecord(value)) throw new DeviceError('enclave_storage_corrupt', 'secure enclave state is not usable');
    return value;
  }

  async #save(state: StateRecord): Promise<void> {
    await this.#storage.put(SLOT_STATE, await seal(this.#keys.sealing, SLOT_STATE, state));
  }
}

function describe(state: StateRecord): EnclaveState {
  const passcodeRequired = state.biometric !== null && state.failedBiometric >= PASSCODE_REQUIRED_AFTER;
  return {
    biometric: state.biometric,
    failedBiometric: state.failedBiometric,
    failedPasscode: state.failedPasscode,
    // Without a biometric the passcode is the only way, so it is always on offer.
    passcodeOffered: state.biometric === null || state.failedBiometric >= PASSCODE_OFFERED_AFTER[state.biometric] || state.failedPasscode > 0,
    passcodeRequired,
    locked: state.locked,
  };
}

async function passcodeHash(passcode: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const material = utf8.encode(passcode);
  try {
    const key = await globalThis.crypto.subtle.importKey('raw', bs(material), 'PBKDF2', false, ['deriveBits']);
    return new Uint8Array(await globalThis.crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: bs(salt), iterations }, key, 256));
  } finally {
    material.fill(0);
  }
}

function isKeysRecord(value: unknown): value is KeysRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<KeysRecord>;
  return r.v === 1 && isCryptoKey(r.sealing, 'secret', 'AES-GCM') && isCryptoKey(r.pairing, 'secret', 'HMAC');
}

function isStateRecord(value: unknown): value is StateRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<StateRecord>;
  return (
    r.v === 1 &&
    (r.biometric === null || r.biometric === 'face' || r.biometric === 'finger') &&
    typeof r.passcode === 'object' &&
    r.passcode !== null &&
    typeof r.passcode.hash === 'string' &&
    typeof r.passcode.salt === 'string' &&
    Number.isSafeInteger(r.passcode.iterations) &&
    Number.isSafeInteger(r.failedBiometric) &&
    Number.isSafeInteger(r.failedPasscode) &&
    typeof r.locked === 'boolean'
  );
}

/**
 * Test helpers for the device: provisioning payloads built as a network would, a raw dump of device
 * storage for leak scans, and an in-memory WalletPlatformApi playing platform + network + issuer.
 */
import { CompactEncrypt, compactDecrypt, exportJWK, importJWK } from 'jose';
import { toHex, utf8 } from '../protocol/bytes.js';
import { generateToken, type Network } from '../protocol/cards/index.js';
import { aesKeyCheckValue, keyCheckValue } from '../protocol/emv/index.js';
import type {
  Card,
  CodeSent,
  Device,
  DeviceRegistration,
  NetworkEncryptionKey,
  Provisioning,
  ProvisionInput,
  RegisterDeviceInput,
  SandboxMessage,
  WalletPlatformApi,
} from './platform-api.js';
import type { DeviceStorage } from './storage.js';

export const random = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));

export const TEST_CERT_PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTESSERAxMjM0NTY3ODkwYWJjZGVmMAoGCCqGSM49BAMC\nMBQxEjAQBgNVBAMMCWRldmljZS1jYTAeFw0yNjAxMDEwMDAwMDBaFw0yOTAxMDEw\n-----END CERTIFICATE-----\n';

export interface PayloadSecrets {
  tokenPan: string;
  mk: string;
  kcv: string;
}

export interface PayloadOptions {
  network?: Network;
  tokenRef?: string;
  alg?: '3des' | 'aes';
  /** Fields to override or (with undefined) remove from the payload. */
  override?: Record<string, unknown>;
  keyOverride?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

/** A provisioning payload JWE to `seJwk`, as the network builds it; answers the secrets so tests can look for leaks. */
export async function buildPayload(seJwk: JsonWebKey, options: PayloadOptions = {}): Promise<{ jwe: string; secrets: PayloadSecrets; payload: Record<string, unknown> }> {
  const network = options.network ?? 'visa';
  const alg = options.alg ?? (network === 'amex' || network === 'discover' ? 'aes' : '3des');
  const tokenPan = generateToken(network, random);
  const mkBytes = random(16);
  const kcvBytes = alg === '3des' ? keyCheckValue(mkBytes) : await aesKeyCheckValue(mkBytes);
  const secrets = { tokenPan, mk: toHex(mkBytes), kcv: toHex(kcvBytes) };
  const payload: Record<string, unknown> = {
    v: 1,
    token_ref: options.tokenRef ?? `tok_${toHex(random(8)).toLowerCase()}`,
    network,
    token_pan: tokenPan,
    token_exp: '3012',
    psn: '00',
    aid: network === 'visa' ? 'A0000000031010' : network === 'mastercard' ? 'A0000000041010' : network === 'amex' ? 'A00000002501' : 'A0000001523010',
    label: `${network.toUpperCase()} CREDIT`,
    cvn: alg === '3des' ? (network === 'mastercard' ? 20 : 18) : network === 'amex' ? 'A1' : 'D1',
    key: { alg, mk: secrets.mk, kcv: secrets.kcv, ...options.keyOverride },
    par: 'V0010013018209999999999999999',
    token_requestor_id: '40010030273',
    card_last4: '1111',
    issued_at: '2026-01-01T00:00:00.000Z',
  };
  for (const [k, v] of Object.entries(options.override ?? {})) {
    if (v === undefined) delete payload[k];
    else payload[k] = v;
  }
  const key = await importJWK(seJwk, 'ECDH-ES+A256KW');
  const jwe = await new CompactEncrypt(utf8.encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', cty: 'provisioning+json', ...options.header })
    .encrypt(key);
  return { jwe, secrets, payload };
}

/**
 * Everything in the storage as text: plain values JSON-serialised (CryptoKeys as a marker), and each
 * byte array both as hex and as Latin-1 text, so a secret stored in clear in bytes would show too.
 */
export async function dumpStorage(storage: DeviceStorage): Promise<string> {
  const parts: string[] = [];
  for (const key of await storage.keys()) {
    const value = await storage.get(key);
    parts.push(
      key,
      JSON.stringify(value, (_k, v: unknown) => {
        if (typeof CryptoKey !== 'undefined' && v instanceof CryptoKey) return '[CryptoKey]';
        if (v instanceof Uint8Array) {
          let latin1 = '';
          for (const b of v) latin1 += String.fromCharCode(b);
          return `${toHex(v)} ${latin1}`;
        }
        return v;
      }),
    );
  }
  return parts.join('\n');
}

/** An error as the platform client throws it for an HTTP answer. */
export class FakePartyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`platform answered ${status} ${code}`);
  }
}

/** An error as the platform client throws it when no answer arrived. */
export class FakeUnavailable extends Error {
  override readonly name = 'PartyUnavailable';
}

interface NetworkKeys {
  kid: string;
  publicJwk: JsonWebKey;
  privateKey: CryptoKey;
}

/**
 * Plays the wallet platform, the network (decrypts the card JWE with a private key only it holds,
 * builds the payload to the SE key) and the issuer (green, or yellow when the device score is <= 2,
 * with the code 123456). Idempotency as the platform does it: same key and same body → the stored
 * answer, same key and another body → 422.
 */
export class FakePlatform implements WalletPlatformApi {
  readonly received: Array<{ network: Network; header: Record<string, unknown>; card: Record<string, unknown> }> = [];
  readonly provisionCalls: Array<{ input: ProvisionInput; idempotencyKey: string }> = [];
  readonly confirmCalls: Array<{ cardId: string; idempotencyKey: string }> = [];
  /** Calls of provision to process but whose answer is then "lost" (thrown as no answer). */
  loseProvisionAnswers = 0;
  /** Calls of confirmCode to process but whose answer is then "lost". */
  loseConfirmAnswers = 0;
  /** Answer the next provision with this catalogue error. */
  failProvisionWith: FakePartyError | null = null;
  /** Replace the network key handed out (to test key checks). */
  keyOverride: Partial<NetworkEncryptionKey> | null = null;
  /** Every payload secret the fake network issued, for leak scans. */
  readonly issuedSecrets: PayloadSecrets[] = [];

  readonly #networks = new Map<Network, NetworkKeys>();
  readonly #cards = new Map<string, Card>();
  readonly #pending = new Map<string, { seJwk: JsonWebKey; network: Network; tokenRef: string }>();
  readonly #idempotency = new Map<string, { body: string; answer: Provisioning }>();
  readonly #confirmed = new Map<string, Provisioning>();
  #seJwk: JsonWebKey | null = null;
  #deviceId = 'dev_test0000000000000000001';
  #serial = 0;

  constructor(seJwk?: JsonWebKey) {
    if (seJwk) this.#seJwk = seJwk;
  }

  async registerDevice(input: RegisterDeviceInput): Promise<DeviceRegistration> {
    this.#seJwk = input.se_public_key;
    const device: Device = { id: this.#deviceId, object: 'device', kind: input.kind, name: input.name, status: 'active', created_at: '2026-01-01T00:00:00.000Z' };
    return {
      device,
      se_certificate_pem: TEST_CERT_PEM,
      device_ca_pem: TEST_CERT_PEM,
      session: { id: 'ses_test', token: 'tss_test', expires_at: '2026-02-01T00:00:00.000Z', device_id: device.id },
    };
  }

  async devices(): Promise<{ data: Device[] }> {
    return { data: [] };
  }

  async networkEncryptionKey(network: Network): Promise<NetworkEncryptionKey> {
    const keys = await this.#networkKeys(network);
    return { kid: keys.kid, alg: 'ECDH-ES+A256KW', enc: 'A256GCM', jwk: keys.publicJwk, ...this.keyOverride };
  }

  async provision(input: ProvisionInput, idempotencyKey: string): Promise<Provisioning> {
    this.provisionCalls.push({ input, idempotencyKey });
    if (this.failProvisionWith) {
      const err = this.failProvisionWith;
      this.failProvisionWith = null;
      throw err;
    }
    const body = JSON.stringify(input);
    const stored = this.#idempotency.get(idempotencyKey);
    let answer: Provisioning;
    if (stored) {
      if (stored.body !== body) throw new FakePartyError(422, 'idempotency_key_reused');
      answer = stored.answer;
    } else {
      answer = await this.#provision(input);
      this.#idempotency.set(idempotencyKey, { body, answer });
    }
    if (this.loseProvisionAnswers > 0) {
      this.loseProvisionAnswers--;
      throw new FakeUnavailable('platform unavailable: connection reset');
    }
    return answer;
  }

  async sendCode(cardId: string, methodId: string): Promise<CodeSent> {
    if (!this.#pending.has(cardId) || methodId !== 'sms') throw new FakePartyError(404, 'resource_missing');
    return { sent: true, expires_at: '2026-01-01T00:10:00.000Z' };
  }

  async confirmCode(cardId: string, code: string, idempotencyKey: string): Promise<Provisioning> {
    this.confirmCalls.push({ cardId, idempotencyKey });
    let answer = this.#confirmed.get(idempotencyKey);
    if (!answer) {
      answer = await this.#confirm(cardId, code);
      this.#confirmed.set(idempotencyKey, answer);
    }
    if (this.loseConfirmAnswers > 0) {
      this.loseConfirmAnswers--;
      throw new FakeUnavailable('platform unavailable: timeout');
    }
    return answer;
  }

  async #confirm(cardId: string, code: string): Promise<Provisioning> {
    const pending = this.#pending.get(cardId);
    const card = this.#cards.get(cardId);
    if (!pending || !card) throw new FakePartyError(404, 'resource_missing');
    if (code !== '123456') throw new FakePartyError(402, 'verification_code_incorrect');
    this.#pending.delete(cardId);
    card.status = 'active';
    const jwe = await this.#payload(pending.seJwk, pending.network, pending.tokenRef);
    return { object: 'provisioning', card: { ...card }, status: 'active', verification: null, provisioning_payload: jwe };
  }

  async messages(cardId: string): Promise<{ data: SandboxMessage[] }> {
    if (!this.#pending.has(cardId)) return { data: [] };
    return { data: [{ channel: 'sms', destination: '•••• 1234', body: 'Your Tessera code is 123456', created_at: '2026-01-01T00:00:00.000Z' }] };
  }

  async cards(): Promise<Card[]> {
    return [...this.#cards.values()].map((c) => ({ ...c }));
  }

  async card(id: string): Promise<Card> {
    const card = this.#cards.get(id);
    if (!card) throw new FakePartyError(404, 'resource_missing');
    return { ...card };
  }

  async art(_artId: string): Promise<string> {
    return '<svg xmlns="http://www.w3.org/2000/svg"/>';
  }

  async #networkKeys(network: Network): Promise<NetworkKeys> {
    let keys = this.#networks.get(network);
    if (!keys) {
      const pair = (await globalThis.crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
      const publicJwk = await exportJWK(pair.publicKey);
      keys = { kid: `${network}-enc-1`, publicJwk: { ...publicJwk, kid: `${network}-enc-1`, use: 'enc', alg: 'ECDH-ES+A256KW' } as JsonWebKey, privateKey: pair.privateKey };
      this.#networks.set(network, keys);
    }
    return keys;
  }

  async #provision(input: ProvisionInput): Promise<Provisioning> {
    const keys = await this.#networkKeys(input.network);
    const { plaintext, protectedHeader } = await compactDecrypt(input.encrypted_card, keys.privateKey, {
      keyManagementAlgorithms: ['ECDH-ES+A256KW'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    if (protectedHeader.cty !== 'card+json' || protectedHeader.kid !== keys.kid) throw new FakePartyError(400, 'encrypted_card_invalid');
    const card = JSON.parse(utf8.decode(plaintext)) as Record<string, unknown>;
    this.received.push({ network: input.network, header: protectedHeader as Record<string, unknown>, card });
    if (card.cvv === '000') throw new FakePartyError(402, 'card_cvv_incorrect');
    if (!this.#seJwk) throw new FakePartyError(400, 'device_certificate_invalid');

    this.#serial++;
    const id = `card_test${String(this.#serial).padStart(20, '0')}`;
    const tokenRef = `tok_test${String(this.#serial).padStart(20, '0')}`;
    const yellow = (input.sandbox_device_score ?? 5) <= 2;
    const pan = String(card.pan);
    const platformCard: Card = {
      id,
      object: 'card',
      device_id: this.#deviceId,
      token_ref: tokenRef,
      network: input.network,
      last4: pan.slice(-4),
      card_type: 'credit',
      issuer_name: 'Tessera Test Bank',
      art_url: `/platform/v1/art/art_${input.network}.svg`,
      status: yellow ? 'inactive' : 'active',
      token_last4: '0000',
      exp_month: Number(card.exp_month),
      exp_year: Number(card.exp_year),
      created_at: '2026-01-01T00:00:00.000Z',
    };
    this.#cards.set(id, platformCard);
    if (yellow) {
      this.#pending.set(id, { seJwk: this.#seJwk, network: input.network, tokenRef });
      return {
        object: 'provisioning',
        card: { ...platformCard },
        status: 'inactive',
        verification: { id: 'ver_test', methods: [{ id: 'sms', type: 'sms', destination: '•••• 1234' }] },
        provisioning_payload: null,
      };
    }
    const jwe = await this.#payload(this.#seJwk, input.network, tokenRef);
    return { object: 'provisioning', card: { ...platformCard }, status: 'active', verification: null, provisioning_payload: jwe };
  }

  async #payload(seJwk: JsonWebKey, network: Network, tokenRef: string): Promise<string> {
    const { jwe, secrets } = await buildPayload(seJwk, { network, tokenRef });
    this.issuedSecrets.push(secrets);
    const card = [...this.#cards.values()].find((c) => c.token_ref === tokenRef);
    if (card) card.token_last4 = secrets.tokenPan.slice(-4);
    return jwe;
  }
}

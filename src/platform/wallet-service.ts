import { AppError, lookupError } from '../infra/errors.js';
import type { Cache } from '../infra/cache/index.js';
import type { Database, Sql } from '../infra/db/database.js';
import { isUniqueViolation } from '../infra/db/database.js';
import { newId, randomBase62 } from '../infra/ids.js';
import { sha256 } from '../infra/http/auth.js';
import { paginate, type PageParams } from '../infra/http/pagination.js';
import { PartyError, PartyUnavailable } from '../infra/transport.js';
import { artId } from './art.js';
import { cachedList } from './list-cache.js';
import type { DeviceCa } from './device-ca.js';
import type { Network, NetworkGateway, NetworkKey, ProvisioningResult } from './gateway.js';
import { cardRepo, deviceRepo, platformRepo, requestorRepo, type CardRow, type DeviceRow } from './repository.js';

const SESSION_TTL_SECONDS = 30 * 24 * 3600;
const KEY_CACHE_SECONDS = 300;
/** A device the platform knows nothing bad about; the issuer steps up at 2 or below. */
const DEFAULT_DEVICE_SCORE = 4;

export function publicDevice(d: DeviceRow) {
  return { id: d.id, object: 'device' as const, kind: d.kind, name: d.name, status: d.status, created_at: new Date(d.created_at).toISOString() };
}

export function publicCard(c: CardRow, baseUrl = '') {
  return {
    id: c.id,
    object: 'card' as const,
    device_id: c.device_id,
    token_ref: c.token_ref,
    network: c.network,
    last4: c.last4,
    card_type: c.card_type,
    issuer_name: c.issuer_name,
    art_url: `${baseUrl}/platform/v1/art/${c.art_id}.svg`,
    status: c.status,
    token_last4: c.token_last4,
    exp_month: c.exp_month,
    exp_year: c.exp_year,
    created_at: new Date(c.created_at).toISOString(),
  };
}

/** The network key of a provisioning's second ask, after it settled the user's abandoned attempts. */
export function settledKey(networkKey: string): string {
  return `${networkKey}:settled`;
}

/** Another party's refusal, carried to the device with its own catalogue code. */
export function fromParty(err: unknown): never {
  if (err instanceof PartyError && err.code && lookupError(err.code) && err.status < 500) {
    throw new AppError(err.code, { message: err.body?.error.message ?? '', ...(err.declineCode ? { declineCode: err.declineCode } : {}), ...(err.body?.error.param ? { param: err.body.error.param } : {}) });
  }
  if (err instanceof PartyError || err instanceof PartyUnavailable) throw new AppError('downstream_failed');
  throw err;
}

/**
 * The wallet side of the platform: devices, the provisioning broker (it routes encrypted card data
 * to the network and the network's payload to the device, reading neither) and the card records.
 */
export class WalletService {
  constructor(
    private readonly db: Database,
    private readonly cache: Cache,
    private readonly ca: DeviceCa,
    private readonly networks: NetworkGateway,
  ) {}

  /** Registers the platform as token requestor with each network, once; returns the ids. */
  async registerWithNetworks(networks: readonly Network[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const caPem = await this.ca.certificatePem();
    for (const n of networks) {
      let id = await requestorRepo.get(this.db, n);
      if (!id) {
        const r = await this.networks.registerTokenRequestor(n, { name: 'Tessera Wallet', device_ca_pem: caPem });
        await requestorRepo.put(this.db, n, r.id);
        id = (await requestorRepo.get(this.db, n))!;
      }
      out[n] = id;
    }
    return out;
  }

  async registerDevice(userId: string, input: { kind: 'phone' | 'watch'; name: string; se_public_key: JsonWebKey }) {
    const jwk = input.se_public_key;
    if ('d' in jwk) throw new AppError('parameter_invalid', { param: 'se_public_key', message: 'se_public_key must be a public key: it carries a private part.' });
    const id = newId('dev');
    let certificate: string;
    try {
      certificate = await this.ca.issueDeviceCertificate(id, jwk);
    } catch {
      throw new AppError('parameter_invalid', { param: 'se_public_key', message: 'se_public_key is not a P-256 public key.' });
    }
    const token = `tss_${randomBase62(40)}`;
    const sessionId = newId('ses');
    const { device, expires } = await this.db.tx(async (tx) => {
      const device = await deviceRepo.insert(tx, { id, userId, kind: input.kind, name: input.name, sePublicKey: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } as JsonWebKey, seCertificatePem: certificate });
      const { expires_at } = await platformRepo.insertSession(tx, { id: sessionId, userId, deviceId: id, secretHash: sha256(token), ttlSeconds: SESSION_TTL_SECONDS });
      return { device, expires: expires_at };
    });
    return {
      device: publicDevice(device),
      se_certificate_pem: certificate,
      device_ca_pem: await this.ca.certificatePem(),
      session: { id: sessionId, token, expires_at: new Date(expires).toISOString(), device_id: id },
    };
  }

  async devices(userId: string) {
    return (await deviceRepo.listForUser(this.db, userId)).map(publicDevice);
  }

  async networkKey(network: Network): Promise<NetworkKey> {
    const cacheKey = `netkey:${network}`;
    const cached = await this.cache.get(cacheKey);
    if (cached) return JSON.parse(cached) as NetworkKey;
    const key = await this.networks.encryptionKey(network).catch(fromParty);
    await this.cache.set(cacheKey, JSON.stringify(key), KEY_CACHE_SECONDS);
    return key;
  }

  async #device(userId: string, deviceId: string): Promise<DeviceRow> {
    const device = await deviceRepo.ownedBy(this.db, deviceId, userId);
    if (!device || !device.se_certificate_pem) throw new AppError('resource_missing', { param: 'device_id' });
    if (device.status !== 'active') throw new AppError('resource_conflict', { message: 'This device is marked lost or erased.' });
    return device;
  }

  /** Phase 1 of provisioning: the network's answer (a recovery point, so a retry never asks twice). */
  async requestToken(userId: string, deviceId: string, input: { network: Network; encrypted_card: string; sandbox_device_score?: number | undefined }, networkIdempotencyKey: string): Promise<ProvisioningResult> {
    const device = await this.#device(userId, deviceId);
    const trid = await requestorRepo.get(this.db, input.network);
    if (!trid) throw new AppError('downstream_failed', { message: 'The platform is not registered with this network.' });
    return this.networks
      .createToken(
        input.network,
        {
          token_requestor_id: trid,
          encrypted_card: input.encrypted_card,
          device: { id: device.id, kind: device.kind, se_certificate_pem: device.se_certificate_pem! },
          wallet_account_id: userId,
          device_score: input.sandbox_device_score ?? DEFAULT_DEVICE_SCORE,
        },
        networkIdempotencyKey,
      )
      .catch(fromParty);
  }

  /** Phase 2: the platform's own record (references only). */
  async recordCard(tx: Sql, userId: string, deviceId: string, network: Network, r: ProvisioningResult) {
    const existing = await cardRepo.byTokenRef(tx, network, r.token_ref);
    if (existing) return publicCard(existing);
    try {
      const row = await cardRepo.insert(tx, {
        id: newId('card'),
        user_id: userId,
        device_id: deviceId,
        network,
        token_ref: r.token_ref,
        par: r.card.par,
        last4: r.card.last4,
        token_last4: r.token.last4,
        card_type: r.card.product,
        issuer_name: r.card.issuer_name,
        art_id: artId({ network, issuer: r.card.issuer_name, product: r.card.product }),
        exp_month: r.card.exp_month,
        exp_year: r.card.exp_year,
        status: r.status,
        verification_id: r.verification?.id ?? null,
        verification_methods: r.verification?.methods ?? null,
      });
      await this.cache.del(`cards:${userId}`);
      return publicCard(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('card_already_provisioned');
      throw err;
    }
  }

  async #card(userId: string, cardId: string, deviceId?: string | null): Promise<CardRow> {
    const card = await cardRepo.ownedBy(this.db, cardId, userId);
    if (!card || (deviceId && card.device_id !== deviceId)) throw new AppError('resource_missing', { param: 'card_id' });
    return card;
  }

  async sendCode(userId: string, deviceId: string, cardId: string, methodId: string) {
    const card = await this.#card(userId, cardId, deviceId);
    if (card.status !== 'inactive' || !card.verification_id) throw new AppError('resource_conflict', { message: 'This card is not waiting for verification.' });
    return this.networks.sendOtp(card.network as Network, card.verification_id, methodId).catch(fromParty);
  }

  async confirmAtNetwork(userId: string, deviceId: string, cardId: string, code: string, networkIdempotencyKey: string): Promise<{ card: CardRow; result: ProvisioningResult }> {
    const card = await this.#card(userId, cardId, deviceId);
    if (card.status !== 'inactive' || !card.verification_id) throw new AppError('resource_conflict', { message: 'This card is not waiting for verification.' });
    const result = await this.networks.confirm(card.network as Network, card.verification_id, code, networkIdempotencyKey).catch(async (err: unknown) => {
      // A locked verification ends this attempt at the network (its token is deleted); the wallet
      // must not keep showing a card waiting for a code that can no longer be entered.
      if (err instanceof PartyError && (err.code === 'verification_locked' || err.code === 'verification_expired')) {
        await cardRepo.setStatus(this.db, card.id, 'deleted');
        await this.cache.del(`cards:${userId}`);
      }
      return fromParty(err);
    });
    return { card, result };
  }

  /**
   * Undoes a provisioning request that a stopped process left unfinished (the device never got its
   * answer): the networks cancel the request by its key (a token it made is deleted, a late one is never
   * made) and the card the platform may have recorded for it is deleted. Idempotent.
   */
  async abandonProvisioning(userId: string, networks: readonly Network[], networkKeys: readonly string[], known: ProvisioningResult | undefined): Promise<void> {
    const refs: { network: Network; tokenRef: string }[] = [];
    for (const network of networks) {
      for (const key of networkKeys) {
        const answer = await this.networks.cancelTokenRequest(network, key);
        for (const tokenRef of answer.token_refs) refs.push({ network, tokenRef });
      }
    }
    if (known?.token_ref && !refs.some((r) => r.tokenRef === known.token_ref)) {
      for (const network of networks) refs.push({ network, tokenRef: known.token_ref });
    }
    await this.#deleteCardsOf(userId, refs);
  }

  /**
   * Undoes a one-time-code confirmation a stopped process left unfinished: the card's token is deleted
   * at its network (it may have become active there) and the card with it; the card is added again.
   */
  async abandonConfirmation(userId: string, cardId: string): Promise<void> {
    const card = await cardRepo.ownedBy(this.db, cardId, userId);
    if (!card || card.status === 'deleted') return;
    try {
      await this.networks.changeTokenStatus(card.network as Network, card.token_ref, 'delete', 'provisioning_abandoned', `abn:${card.id}`);
    } catch (err) {
      // Already deleted, or never became a token the network acts on: nothing is left to end there.
      if (!(err instanceof PartyError && (err.status === 404 || err.status === 409))) throw err;
    }
    await this.#deleteCardsOf(userId, [{ network: card.network as Network, tokenRef: card.token_ref }]);
  }

  async #deleteCardsOf(userId: string, refs: { network: Network; tokenRef: string }[]): Promise<void> {
    for (const r of refs) {
      const card = await cardRepo.byTokenRef(this.db, r.network, r.tokenRef);
      if (card && card.user_id === userId && card.status !== 'deleted') await cardRepo.setStatus(this.db, card.id, 'deleted');
    }
    await this.forgetCards(userId);
  }

  #settle: (userId: string) => Promise<number> = async () => 0;

  /** How this process settles a user's requests a stopped process left unfinished (the recovery worker's, for one user). */
  useRecovery(settle: (userId: string) => Promise<number>): void {
    this.#settle = settle;
  }

  /** Settles now the user's requests a stopped process left unfinished; answers how many there were. */
  settleAbandoned(userId: string): Promise<number> {
    return this.#settle(userId);
  }

  /** Drops the user's cached card lists (after a change committed: a route's step, not inside it). */
  async forgetCards(userId: string): Promise<void> {
    await this.cache.del(`cards:${userId}`);
  }

  async activate(tx: Sql, cardId: string, userId: string) {
    const row = await cardRepo.setStatus(tx, cardId, 'active');
    await this.cache.del(`cards:${userId}`);
    return publicCard(row);
  }

  async messages(userId: string, deviceId: string, cardId: string) {
    const card = await this.#card(userId, cardId, deviceId);
    if (!card.verification_id) return { object: 'list' as const, data: [], has_more: false };
    const r = await this.networks.sandboxMessages(card.network as Network, card.verification_id).catch(fromParty);
    return { object: 'list' as const, data: r.data, has_more: false };
  }

  async cards(userId: string, deviceId: string | null, page: PageParams) {
    // Briefly cached; every change of the user's cards deletes `cards:<user>` before it returns.
    return cachedList(this.cache, `cards:${userId}`, { deviceId, page }, () => this.#cards(userId, deviceId, page));
  }

  async #cards(userId: string, deviceId: string | null, page: PageParams) {
    const params: unknown[] = [userId];
    let where = `SELECT ${cardRepo.columns} FROM platform.cards WHERE user_id = $1 AND status <> 'deleted'`;
    if (deviceId) {
      params.push(deviceId);
      where += ' AND device_id = $2';
    }
    const result = await paginate<CardRow>(this.db, where, params, page);
    return { ...result, data: result.data.map((c) => publicCard(c)) };
  }

  async card(userId: string, cardId: string) {
    return publicCard(await this.#card(userId, cardId));
  }

  async art(id: string) {
    return cardRepo.artSpec(this.db, id);
  }
}

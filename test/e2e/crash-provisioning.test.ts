import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AcquirerClient } from '../../src/acquirer/client.js';
import { MemoryStorage } from '../../src/device/storage.js';
import { seLink } from '../../src/device/nfc.js';
import { setupDevice } from '../../src/device/setup.js';
import { Wallet } from '../../src/device/wallet.js';
import { provisionMany } from '../../src/bench/devices.js';
import { loadConfig } from '../../src/infra/config.js';
import { openDatabase } from '../../src/infra/db/index.js';
import { randomBase62 } from '../../src/infra/ids.js';
import { FetchTransport, PartyError, type Transport, type TransportRequest } from '../../src/infra/transport.js';
import { SANDBOX_ISSUERS } from '../../src/issuer/sandbox-cards.js';
import { WalletPlatformClient } from '../../src/platform/client.js';
import { unpackMessage } from '../../src/protocol/iso8583/iso8583.js';
import type { Target } from '../../src/scenario/harness.js';
import type { ProvisionedDevice } from '../../src/scenario/provision.js';
import { kernelFor, sandboxTerminal, type TerminalSetup } from '../../src/scenario/tap.js';
import { createTestDatabase } from '../helpers/env.js';
import { seededRandom } from '../helpers/random.js';

/**
 * Issue 16, point 2: the platform killed (SIGKILL) at seeded random points while devices add cards
 * (and phones tap), restarted on the same data, every failed provisioning retried as a wallet does
 * (the same Idempotency-Key, then a new one). After every crash: no user blocked (each ends with a
 * card whose payload reached the device, every retry answers a final code within seconds), no active
 * token without its card, no unfinished idempotency key left behind, holds = approvals, and the
 * issuer's ledger sums to zero per transaction.
 */

const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 3);
const USERS = Number(process.env.CRASH_USERS ?? 10);
const TAP_PHONES = 4;
/** Safety nets only: a retry's final answer is expected within seconds. */
const START_DEADLINE_MS = 180_000;
const RETRY_DEADLINE_MS = 20_000;


/** A transport to whichever port the platform listens on now (it changes on every restart). */
class CurrentPlatform implements Transport {
  base = '';
  request<T>(req: TransportRequest) {
    // A busy machine answers slowly: a request is cut by the kill, not by a client timeout.
    return new FetchTransport(this.base, 'platform').request<T>({ ...req, timeoutMs: req.timeoutMs ?? 120_000 });
  }
}

interface User {
  n: number;
  wallet: Wallet;
  client: WalletPlatformClient;
  card: { pan: string; expMonth: number; expYear: number; cvv: string; name: string };
  /** The last provisioning request the wallet sent, with its key (a same-key retry resends it). */
  sent?: { request: { network: string; encrypted_card: string }; key: string };
  /** How this user's card reached the device: before the crash, same-key retry, new-key retry. */
  done?: 'before' | 'same-key' | 'new-key';
  answers: string[];
}

const transient = (err: unknown) =>
  !(err instanceof PartyError) || err.status >= 500 || err.code === 'idempotency_in_flight' || err.code === 'busy_retry';

describe(`provisioning survives kill -9 at random points (seed ${SEED}, ${ROUNDS} rounds × ${USERS} devices)`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-crash-'));
  const adminKey = `tsk_admin_${randomBase62(40)}`;
  const platform = new CurrentPlatform();
  // Seeded, so a failing run can be repeated with CRASH_SEED.
  const random = seededRandom(SEED);
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let child: ChildProcess | undefined;
  let output = '';
  /** The platform's warnings and errors over every start (shown when an invariant fails). */
  let warnings = '';

  const start = async () => {
    output = '';
    const proc = spawn(process.execPath, ['bin/tessera.js', 'start', '--port', '0', '--data', dir, '--host', '127.0.0.1'], {
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        TESSERA_MTLS_PORT: '0',
        TESSERA_ADMIN_KEY: adminKey,
        TESSERA_RATE_LIMIT_FACTOR: '0',
        ...(database.url ? { DATABASE_URL: database.url } : { DATABASE_URL: '' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => (warnings += d.toString().split('\n').filter((l) => /"level":(40|50|60)/.test(l)).map((l) => `${l.slice(0, 400)}\n`).join('')));
    platform.base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the platform did not start within ${START_DEADLINE_MS / 1000} s:\n${output}`)), START_DEADLINE_MS);
      const check = () => {
        const m = /API\s+(http:\/\/\S+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        } else if (proc.exitCode !== null) {
          clearTimeout(timer);
          reject(new Error(`the platform exited (${proc.exitCode}):\n${output}`));
        } else setTimeout(check, 50);
      };
      check();
    });
  };

  const stop = async (signal: 'SIGKILL' | 'SIGTERM') => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  };

  const target = (): Target => ({ device: platform, raw: platform, trace: undefined, tessera: undefined, adminKey, close: async () => {} });

  const issueCard = async (network: 'visa' | 'mastercard' | 'amex' | 'discover') => {
    const issuer = SANDBOX_ISSUERS.find((s) => s.bins.some((b) => b.network === network))!;
    const c = await platform.request<{ number: string; cvv: string; exp_month: number; exp_year: number }>({
      method: 'POST',
      path: `/issuer/${issuer.id}/v1/sandbox/cards`,
      apiKey: adminKey,
      body: { network, credit_limit: 1_000_000 },
    });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    return { pan: c.body.number, cvv: c.body.cvv, expMonth: c.body.exp_month, expYear: c.body.exp_year, name: 'Crash Test' };
  };

  const newUser = async (n: number): Promise<User> => {
    const networks = ['visa', 'mastercard', 'amex', 'discover'] as const;
    const card = await issueCard(networks[n % networks.length]!);
    const email = `crash-${randomBase62(10).toLowerCase()}@example.com`;
    const { client } = await WalletPlatformClient.signUp(platform, { email, password: `pw-${randomBase62(16)}`, name: 'Crash Test' });
    const user: User = { n, client, card, answers: [], wallet: undefined as unknown as Wallet };
    // The wallet's calls, with the provisioning request and its key recorded on the way.
    const api = new Proxy(client, {
      get(t, prop) {
        if (prop === 'provision') {
          return (request: { network: string; encrypted_card: string }, key: string) => {
            user.sent = { request, key };
            return t.provision(request, key);
          };
        }
        const v = Reflect.get(t, prop, t) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    const storage = new MemoryStorage();
    const { se, enclave } = await setupDevice(storage, { biometric: 'face', passcode: '123456', passcodeIterations: 1000 });
    user.wallet = new Wallet({ api, se, enclave, storage });
    await user.wallet.register({ kind: 'phone', name: `Crash phone ${n}` });
    return user;
  };

  /** Retries a transient answer (in flight, busy, platform unreachable) until a final one, within the safety net. */
  const finalAnswer = async <T>(user: User, what: string, fn: () => Promise<T>): Promise<{ ok: T } | { error: string }> => {
    const deadline = Date.now() + RETRY_DEADLINE_MS;
    for (;;) {
      try {
        return { ok: await fn() };
      } catch (err) {
        const code = err instanceof PartyError ? `${err.status} ${err.code ?? ''}` : (err as Error).message;
        if (!transient(err) || Date.now() > deadline) {
          user.answers.push(`${what}: ${code}${transient(err) ? ' (still not final after the safety net)' : ''}`);
          return { error: code };
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };

  let tapPhones: ProvisionedDevice[] = [];
  let terminal: TerminalSetup;
  const taps = { sent: 0, approved: 0, failed: 0 };

  let setupMs = 0;
  before(async () => {
    const t0 = Date.now();
    database = await createTestDatabase();
    await start();
    tapPhones = await provisionMany(target(), TAP_PHONES, () => {}, { defaultCard: true });
    terminal = await sandboxTerminal(target());
    setupMs = Date.now() - t0;
  });

  after(async () => {
    await stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await database?.drop();
  });

  it('after every crash: no user blocked, no active token without its card, no unfinished key, money consistent', async () => {
    process.stdout.write(`# crash test seed ${SEED} (repeat with CRASH_SEED=${SEED}); set-up took ${setupMs} ms\n`);
    const blocked: string[] = [];
    let retried = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Set up four at a time (sign-up hashes a password): the burst below is what must be concurrent.
      const users: User[] = [];
      for (let i = 0; i < USERS; i += 4) users.push(...(await Promise.all(Array.from({ length: Math.min(4, USERS - i) }, (_, j) => newUser(round * USERS + i + j)))));
      // Where this round's kill falls: after the k-th card added, or after a delay into the burst.
      const afterK = random() < 0.6 ? 1 + Math.floor(random() * (USERS - 2)) : null;
      const delayMs = afterK === null ? 50 + Math.floor(random() * 2500) : null;
      process.stdout.write(`# round ${round + 1}: kill -9 ${afterK !== null ? `after the ${afterK}th card added` : `${delayMs} ms into the burst`}\n`);

      let added = 0;
      let killed: Promise<void> | undefined;
      const kill = () => (killed ??= stop('SIGKILL'));
      const burst = users.map(async (u) => {
        try {
          const r = await u.wallet.addCard(u.card);
          assert.equal(r.state, 'active');
          u.done = 'before';
          if (++added === afterK) void kill();
        } catch (err) {
          u.answers.push(`before the crash: ${err instanceof PartyError ? `${err.status} ${err.code}` : (err as Error).message}`);
        }
      });
      // Phones tapping meanwhile (each armed by a double-click, then held to the reader).
      const acquirer = new AcquirerClient(platform, terminal.apiKey);
      let stan = round * 1000 + 1;
      const kernel = kernelFor(terminal, { stan: () => stan++ });
      const tapping = tapPhones.map(async (phone, i) => {
        for (let j = 0; j < 3 && !killed; j++) {
          try {
            const armed = await phone.wallet.preparePayment({ biometric: 'match' });
            if (!armed.ok) continue;
            const outcome = await kernel.transact(seLink(phone.se), { amount: 100 + i * 10 + j });
            if (outcome.kind !== 'online') continue;
            taps.sent++;
            if (unpackMessage(await acquirer.authorize(outcome.packed)).fields[39] === '00') taps.approved++;
          } catch {
            taps.failed++;
          }
        }
      });
      if (delayMs !== null) setTimeout(() => void kill(), delayMs);
      await Promise.all(burst);
      await kill();
      await Promise.all(tapping);

      await start();
      // Every provisioning that did not answer 201: the same key first (as the wallet's own retry does)
      // for half of them, straight to a new key (the wallet adding the card again) for the others.
      await Promise.all(
        users
          .filter((u) => !u.done)
          .map(async (u) => {
            retried++;
            const sent = u.sent;
            const sameKey = async () => {
              if (!sent) return false;
              const same = await finalAnswer(u, 'same key', () => u.client.provision(sent.request, sent.key));
              if ('ok' in same && same.ok.provisioning_payload) u.done = 'same-key';
              return u.done !== undefined;
            };
            if (random() < 0.5 && (await sameKey())) return;
            const fresh = await finalAnswer(u, 'new key', () => u.wallet.addCard(u.card));
            if ('ok' in fresh && fresh.ok.state === 'active') u.done = 'new-key';
            // The kill fell between the stored answer and its sending: the card was added, the wallet
            // asks again with that request's key and gets its answer.
            else if ('error' in fresh && fresh.error.endsWith('card_already_provisioned')) await sameKey();
          }),
      );
      for (const u of users) if (!u.done) blocked.push(`user ${u.n}: ${u.answers.join('; ')}`);
      const by = (k: User['done']) => users.filter((u) => u.done === k).length;
      process.stdout.write(`#   before the crash ${by('before')}, after it by the same key ${by('same-key')}, by a new key ${by('new-key')}, blocked ${users.length - by('before') - by('same-key') - by('new-key')}\n`);
    }
    process.stdout.write(`# ${ROUNDS * USERS} provisionings, ${retried} retried; taps sent ${taps.sent}, approved ${taps.approved}, failed in the crash ${taps.failed}\n`);

    // Let the restarted platform settle what the crashes left (recovery, reversals), then stop it cleanly.
    await new Promise((r) => setTimeout(r, 4000));
    await stop('SIGTERM');
    const config = loadConfig({ ...process.env, DATABASE_URL: database.url ?? '' }, { TESSERA_DATA_DIR: dir, LOG_LEVEL: 'silent' });
    const db = await openDatabase(config, { inMemory: false });
    try {
      const q = async (sql: string) => (await db.query<Record<string, unknown>>(sql)).rows;
      const orphanTokens = await q(`SELECT t.token_ref, t.status FROM network.tokens t
        WHERE t.status IN ('active', 'suspended') AND NOT EXISTS (SELECT 1 FROM platform.cards c WHERE c.token_ref = t.token_ref AND c.status <> 'deleted')`);
      const cardsWithoutToken = await q(`SELECT c.id, c.status FROM platform.cards c
        WHERE c.status <> 'deleted' AND NOT EXISTS (SELECT 1 FROM network.tokens t WHERE t.token_ref = c.token_ref AND t.status <> 'deleted')`);
      const staleKeys = await q(`SELECT route, locked_at IS NOT NULL AS locked, recovery ? 'network' AS reached_network FROM infra.idempotency_keys
        WHERE status = 'started' AND (route LIKE '%provisioning%' OR route LIKE '/network/%/tokens' OR locked_at < now() - interval '60 seconds')`);
      const unheld = await q(`SELECT a.id FROM issuer.authorizations a WHERE a.response_code = '00' AND NOT EXISTS (SELECT 1 FROM issuer.holds h WHERE h.authorization_id = a.id)`);
      const holdsWithoutApproval = await q(`SELECT h.id FROM issuer.holds h JOIN issuer.authorizations a ON a.id = h.authorization_id WHERE a.response_code <> '00'`);
      const unbalanced = await q(`SELECT transaction_id, sum(amount)::text AS sum FROM issuer.ledger_entries GROUP BY transaction_id, currency HAVING sum(amount) <> 0`);
      const usersCards = await q(`SELECT count(*)::int AS n FROM platform.cards WHERE status = 'active' AND device_id IN (SELECT id FROM platform.devices WHERE name LIKE 'Crash phone %')`);
      process.stdout.write(
        `# blocked users ${blocked.length}, active tokens without a card ${orphanTokens.length}, cards without a token ${cardsWithoutToken.length}, ` +
          `unfinished keys ${staleKeys.length}, approvals without a hold ${unheld.length}, holds without an approval ${holdsWithoutApproval.length}, unbalanced ledger transactions ${unbalanced.length}\n`,
      );
      if (blocked.length || orphanTokens.length) process.stdout.write(`# the platform's warnings:\n${warnings.slice(-6000)}`);
      assert.deepEqual(blocked, [], 'every user ends with the card on the device');
      assert.deepEqual(orphanTokens, [], 'no active token without its card');
      assert.deepEqual(cardsWithoutToken, [], 'no card without its token');
      assert.deepEqual(staleKeys, [], 'no unfinished provisioning key, no key left locked past its lock');
      assert.deepEqual(unheld, [], 'every approval holds its amount');
      assert.deepEqual(holdsWithoutApproval, [], 'no hold without an approval');
      assert.deepEqual(unbalanced, [], 'the ledger sums to zero per transaction');
      assert.equal(usersCards[0]!.n, ROUNDS * USERS, 'one active card per device');
    } finally {
      await db.close();
    }
  });
});

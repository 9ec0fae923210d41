import { AcquirerClient } from '../acquirer/client.js';
import { SANDBOX_ISSUERS } from '../issuer/sandbox-cards.js';
import { loadConfig } from '../infra/config.js';
import { call, FetchTransport, InjectTransport, type Transport } from '../infra/transport.js';
import { createLogger } from '../infra/logger.js';
import { unpackMessage } from '../protocol/iso8583/iso8583.js';
import type { Target } from '../scenario/harness.js';
import { runProvision, type NetworkName, type ProvisionedDevice } from '../scenario/provision.js';
import { kernelFor, sandboxTerminal } from '../scenario/tap.js';
import { createTessera } from '../server/tessera.js';
import { seLink } from '../device/nfc.js';
import { runBench, type BenchSummary } from './runner.js';
import { retryStats } from '../infra/db/database.js';

const NETWORKS: NetworkName[] = ['visa', 'mastercard', 'amex', 'discover'];
/** The issuers' velocity rule allows 30 approvals per card in 10 minutes; a bench card gets at most this many. */
const TAPS_PER_CARD = 25;

export interface TapBenchOptions {
  url?: string | undefined;
  durationS: number;
  concurrency: number;
  /** Expected throughput, to size the card pool (each card stays under the issuers' velocity limit). */
  expectedRps?: number;
  log?: (line: string) => void;
}

/**
 * Many simulated phones tapping many readers: each tap is the full APDU dialogue with a fresh
 * cryptogram, then the 0100 through acquirer, network (ARQC, ATC) and issuer (hold, ledger).
 * Setup (issuing cards and provisioning a phone for each) is not timed.
 */
export async function benchTap(options: TapBenchOptions): Promise<BenchSummary> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let target: Target;
  if (options.url) {
    const raw = new FetchTransport(options.url, 'platform');
    target = { device: raw, raw, trace: undefined, tessera: undefined, adminKey: process.env.TESSERA_ADMIN_KEY, close: async () => {} };
    if (!target.adminKey) throw new Error('against --url, set TESSERA_ADMIN_KEY (cards and terminals are created with it)');
  } else {
    // Set-up signs up users and adds hundreds of cards: rate limits would refuse that, and guard nothing here.
    const config = loadConfig(process.env, { LOG_LEVEL: 'silent', TESSERA_RATE_LIMIT_FACTOR: '0' });
    // In memory only on the embedded database: on a server the KEK must be the configured (or data folder's) one, or a second run could not read the first run's keys.
    const tessera = await createTessera({ config, logger: createLogger({ level: 'silent' }), inMemory: !config.databaseUrl });
    tessera.startBackground();
    const raw = new InjectTransport(() => tessera.app);
    target = { device: raw, raw, trace: undefined, tessera, adminKey: tessera.newAdminKey ?? undefined, close: () => tessera.close() };
    log(`in-process platform on ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite (in memory)'}, cache ${config.redisUrl ? 'Redis (REDIS_URL)' : 'in-process'}`);
  }
  try {
    const expected = (options.expectedRps ?? 1500) * options.durationS;
    const cards = Math.max(options.concurrency * 2, Math.ceil(expected / TAPS_PER_CARD));
    log(`setting up ${cards} cards, each on its own phone (not timed)…`);
    const devices = await provisionMany(target, cards, log);
    const terminal = await sandboxTerminal(target);
    const acquirer = new AcquirerClient(target.raw, terminal.apiKey);
    const perWorker = Array.from({ length: options.concurrency }, (_, w) => devices.filter((_, i) => i % options.concurrency === w));
    const kernels = perWorker.map((_, w) => {
      // Each worker has its own STAN range so concurrent taps on one reader are never "duplicates".
      let n = 0;
      return kernelFor(terminal, { stan: () => w * 10_000 + 1 + (n++ % 9_999) });
    });
    const uses = new Map<ProvisionedDevice, number>();
    return await runBench({
      scenario: 'tap',
      durationS: options.durationS,
      concurrency: options.concurrency,
      async task(w, i) {
        const pool = perWorker[w]!;
        const device = pool.find((d) => (uses.get(d) ?? 0) < TAPS_PER_CARD) ?? pool[i % pool.length]!;
        uses.set(device, (uses.get(device) ?? 0) + 1);
        const armed = await device.wallet.preparePayment({ biometric: 'match' });
        if (!armed.ok) return false;
        const outcome = await kernels[w]!.transact(seLink(device.se), { amount: 100 + ((w * 7 + i) % 400) });
        if (outcome.kind !== 'online') return false;
        const answer = unpackMessage(await acquirer.authorize(outcome.packed));
        return answer.fields[39] === '00';
      },
    });
  } finally {
    log(`serialization retries in this process: ${retryStats.retried} (gave up: ${retryStats.exhausted})`);
    await target.close();
  }
}

async function provisionMany(target: Target, count: number, log: (l: string) => void): Promise<ProvisionedDevice[]> {
  const quiet = { step: () => {}, detail: () => {} };
  const out: ProvisionedDevice[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const network = NETWORKS[i % NETWORKS.length]!;
      const issuer = SANDBOX_ISSUERS.find((s) => s.bins.some((b) => b.network === network))!;
      const issued = await call<{ number: string; cvv: string; exp_month: number; exp_year: number }>(target.raw, 'issuer', {
        method: 'POST',
        path: `/issuer/${issuer.id}/v1/sandbox/cards`,
        apiKey: target.adminKey!,
        body: { network, credit_limit: 10_000_000 },
      });
      const device = await runProvision(target.device, { network, card: issued.number, cvv: issued.cvv, exp: { month: issued.exp_month, year: issued.exp_year } }, quiet);
      await device.wallet.setDefaultCard(device.cardId);
      out.push(device);
      if (out.length % 100 === 0) log(`  ${out.length} / ${count}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

export type { Transport };

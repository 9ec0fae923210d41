import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { AcquirerClient } from '../../src/acquirer/client.js';
import { seLink } from '../../src/device/nfc.js';
import { batchStats } from '../../src/infra/db/batcher.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { InjectTransport, type Transport, type TransportRequest, type TransportResponse } from '../../src/infra/transport.js';
import { unpackMessage } from '../../src/protocol/iso8583/iso8583.js';
import type { Target } from '../../src/scenario/harness.js';
import { runProvision, type NetworkName, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { kernelFor, sandboxTerminal, type TerminalSetup } from '../../src/scenario/tap.js';
import { createTessera, type Tessera } from '../../src/server/tessera.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

/**
 * Many taps at once: the acquirer and the network record concurrent answers together (infra/db/batcher.ts),
 * and each tap must still get exactly its own answer, recorded once with one event.
 */
let env: TestEnv;
let tessera: Tessera;
let target: Target;
let terminal: TerminalSetup;
let barrier = 0;
let held = 0;
let release: () => void = () => {};
const released = new Promise<void>((r) => (release = r));

before(async () => {
  // A dozen phones signed up from one address: the public sign-up limit would refuse that, and guards nothing here.
  env = await createTestEnv({ TESSERA_RATE_LIMIT_FACTOR: '0' });
  tessera = await createTessera({
    config: env.config,
    logger: env.logger,
    db: env.db,
    cache: env.cache,
    // The issuer's answers are held until `barrier` of them are in, then let go at once, so the network's
    // and the acquirer's answers arrive together (as under load) whatever the database's speed.
    wrapTransport: (hop, inner): Transport =>
      hop.to !== 'issuer'
        ? inner
        : {
            async request<T>(req: TransportRequest): Promise<TransportResponse<T>> {
              const res = await inner.request<T>(req);
              if (barrier > 0) {
                held++;
                if (held >= barrier) release();
                else await Promise.race([released, sleep(5_000)]);
              }
              return res;
            },
          },
  });
  const transport = new InjectTransport(() => tessera.app);
  target = { device: transport, raw: transport, trace: undefined, tessera, adminKey: tessera.newAdminKey, close: async () => {} };
  terminal = await sandboxTerminal(target);
});
after(async () => {
  await tessera.close();
  await env.close();
});

async function device(network: NetworkName): Promise<ProvisionedDevice> {
  const d = await runProvision(target.device, { network }, { step: () => {}, detail: () => {} });
  await d.wallet.setDefaultCard(d.cardId);
  return d;
}

it('concurrent taps on many phones: each gets its own answer, recorded once with one event at the acquirer and the network', async () => {
  const networks = ['visa', 'mastercard', 'amex', 'discover'] as const;
  const phones = [];
  for (let i = 0; i < 12; i++) phones.push(await device(networks[i % 4]!));
  let stan = 500_000;
  const kernel = kernelFor(terminal, { stan: () => stan++ });
  const packed: Uint8Array[] = [];
  for (const [i, d] of phones.entries()) {
    assert.equal((await d.wallet.preparePayment({ biometric: 'match' })).ok, true);
    const outcome = await kernel.transact(seLink(d.se), { amount: 700 + i });
    assert.equal(outcome.kind, 'online');
    if (outcome.kind === 'online') packed.push(outcome.packed);
  }
  const batchedBefore = batchStats.items;
  const acquirer = new AcquirerClient(target.raw, terminal.apiKey);
  barrier = packed.length;
  // The first tap's 0100 is also sent twice more at once (a terminal retransmitting): same answer, one authorization.
  const [raw, twins] = await Promise.all([Promise.all(packed.map((p) => acquirer.authorize(p))), Promise.all([acquirer.authorize(packed[0]!), acquirer.authorize(packed[0]!)])]);
  for (const twin of twins) assert.deepEqual(Buffer.from(twin), Buffer.from(raw[0]!), 'a retransmission gets the very same answer');
  const answers = raw.map((a) => unpackMessage(a));
  barrier = 0;
  assert.ok(batchStats.items > batchedBefore, 'some answers were recorded together (the batched statements ran)');
  answers.forEach((a, i) => {
    assert.equal(a.fields[39], '00', `tap ${i}`);
    assert.equal(a.fields[4], String(700 + i).padStart(12, '0'), 'each answer is its own request\'s');
    assert.equal(a.fields[11], String(500_000 + i), 'each answer carries its own STAN back');
  });
  assert.equal(new Set(answers.map((a) => a.fields[38])).size, 12, 'twelve authorization codes');
  const stans = packed.map((_, i) => String(500_000 + i));
  const acq = await env.db.query<{ id: string; stan: string; status: string; response: Uint8Array | null; latency_ms: number | null }>(
    'SELECT id, stan, status, response, latency_ms FROM acquirer.authorizations WHERE stan = ANY($1::text[])',
    [stans],
  );
  assert.equal(acq.rows.length, 12);
  for (const row of acq.rows) {
    assert.equal(row.status, 'approved');
    assert.ok(row.response && row.latency_ms !== null);
    // What a retransmission of this tap would get back: the very answer its terminal got (kept sealed, it carries the token).
    const stored = await tessera.acquirer.messages.open(row.response, 'authorizations.response', row.id);
    assert.deepEqual(Buffer.from(stored), Buffer.from(raw[stans.indexOf(row.stan)]!), `stored answer of STAN ${row.stan}`);
    const events = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM infra.outbox WHERE payload->'data'->'object'->>'id' = $1", [row.id]);
    assert.equal(events.rows[0]!.n, 1, `one acquirer event for ${row.id}`);
  }
  const net = await env.db.query<{ id: string; status: string; response_code: string; completed_at: Date | null }>(
    'SELECT id, status, response_code, completed_at FROM network.authorizations WHERE amount = ANY($1::bigint[]) AND created_at > now() - interval \'1 minute\'',
    [packed.map((_, i) => 700 + i)],
  );
  assert.equal(net.rows.length, 12);
  for (const row of net.rows) {
    assert.equal(row.status, 'approved');
    assert.equal(row.response_code, '00');
    assert.ok(row.completed_at instanceof Date);
    const events = await env.db.query<{ n: number; code: string }>(
      "SELECT count(*)::int AS n, min(payload->>'response_code') AS code FROM infra.outbox WHERE topic = 'network.transaction' AND payload->>'network_transaction_id' = $1",
      [row.id],
    );
    assert.deepEqual(events.rows[0], { n: 1, code: '00' }, `one network event for ${row.id}`);
  }
  const invariants = await tessera.issuers.service.checkInvariants();
  assert.equal(invariants.ok, true, JSON.stringify(invariants));
});

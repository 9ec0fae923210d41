import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InjectTransport } from '../../src/infra/transport.js';
import { SANDBOX_CARDS } from '../../src/issuer/sandbox-cards.js';
import type { Target } from '../../src/scenario/harness.js';
import { runProvision, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { kernelFor, sandboxTerminal, tap, type TerminalSetup } from '../../src/scenario/tap.js';
import { checkRouteSecurity } from '../helpers/security.js';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';

const quiet = { step: () => {}, detail: () => {} };

describe('operations console APIs', () => {
  let t: TestTessera;
  let opsKey: string;
  let target: Target;
  let terminal: TerminalSetup;
  let device: ProvisionedDevice;

  before(async () => {
    t = await startTestTessera();
    opsKey = (await t.request({ method: 'GET', url: '/sandbox/v1/ops-key' })).json<{ apiKey: string }>().apiKey;
    const transport = new InjectTransport(() => t.tessera.app);
    target = { device: transport, raw: transport, trace: undefined, tessera: t.tessera, adminKey: t.adminKey, close: async () => {} };
    terminal = await sandboxTerminal(target);
    device = await runProvision(transport, { network: 'mastercard' }, quiet);
    await device.wallet.setDefaultCard(device.cardId);
  });
  after(() => t.close());

  const pay = async (amount: number) => {
    assert.equal((await device.wallet.preparePayment({ biometric: 'match' })).ok, true);
    return tap(target, device, terminal, kernelFor(terminal), amount);
  };
  const get = async <T>(url: string, key = opsKey): Promise<T> => {
    const res = await t.request({ method: 'GET', url, auth: key });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    return res.json<T>();
  };

  it('every console route refuses missing, bad and wrong-role credentials; the ops key reads but cannot write', async () => {
    const ops = t.tessera.parties.find((p) => p.name === 'ops')!;
    const consoleRoutes = ops.routes.filter((r) => r.url.startsWith('/ops/v1/') && !r.url.startsWith('/ops/v1/api-keys'));
    assert.ok(consoleRoutes.length >= 10);
    const terminalKey = t.tessera.terminals.find((x) => x.key === 'coffee')!.api_key;
    const issuerKey = Object.values(t.tessera.issuerKeys)[0]!;
    const checks = await checkRouteSecurity(t.tessera.app, consoleRoutes, { admin: t.adminKey, ops: opsKey, terminal: terminalKey, issuer: issuerKey });
    assert.ok(checks > 60);
    // The read-only key may not create keys or read the parties' admin routes.
    const create = await t.request({ method: 'POST', url: '/ops/v1/api-keys', auth: opsKey, payload: { role: 'admin', owner_id: 'x' } });
    assert.equal(create.statusCode, 403);
    const acquirer = await t.request({ method: 'GET', url: '/acquirer/v1/authorizations', auth: opsKey });
    assert.equal(acquirer.statusCode, 403);
    // The parties' new read routes are admin only.
    const network = t.tessera.networks.routes.filter((r) => /\/v1\/(stats|authorizations|token-search)$/.test(r.url) && r.method === 'GET');
    const issuer = t.tessera.issuers.routes.filter((r) => /\/v1\/(issuers|authorizations)$/.test(r.url) && r.method === 'GET');
    const webhooks = t.tessera.acquirer.routes.filter((r) => r.url === '/acquirer/v1/webhook-deliveries');
    assert.equal(network.length + issuer.length + webhooks.length, 6);
    assert.ok((await checkRouteSecurity(t.tessera.app, [...network, ...issuer, ...webhooks], { ops: opsKey, terminal: terminalKey, issuer: issuerKey })) > 40);
  });

  it('counters move after a tap, with a decline by its reason', async () => {
    type Counters = { authorizations: { approved: number; declined: number; total: number }; declines_by_reason: Record<string, number>; latency_ms: { p50: number | null; p99: number | null; samples: number } };
    const before = await get<Counters>('/ops/v1/counters');
    const approved = await pay(725);
    assert.equal(approved.responseCode, '00');
    const mid = await get<Counters>('/ops/v1/counters');
    assert.equal(mid.authorizations.approved, before.authorizations.approved + 1);
    assert.equal(mid.latency_ms.samples, before.latency_ms.samples + 1);
    assert.ok(mid.latency_ms.p50! > 0 && mid.latency_ms.p99! >= mid.latency_ms.p50!);
    // A replayed 0100 under a new STAN: declined at the network (ATC already used).
    const replay = await pay(800);
    assert.equal(replay.responseCode, '00');
    const { AcquirerClient } = await import('../../src/acquirer/client.js');
    const { packMessage, unpackMessage } = await import('../../src/protocol/iso8583/iso8583.js');
    const msg = unpackMessage(replay.packed!);
    const again = unpackMessage(await new AcquirerClient(target.raw, terminal.apiKey).authorize(packMessage({ mti: msg.mti, fields: { ...msg.fields, 11: '999991' } })));
    assert.notEqual(again.fields[39], '00');
    const after = await get<Counters>('/ops/v1/counters');
    assert.equal(after.authorizations.declined, before.authorizations.declined + 1);
    assert.equal(Object.values(after.declines_by_reason).reduce((a, b) => a + b, 0), after.authorizations.declined);
    assert.ok(Object.keys(after.declines_by_reason).some((r) => r.startsWith(String(again.fields[39]))));
  });

  it("the trace of a tap has every hop, decoded and masked, and the authorization list links to it", async () => {
    const result = await pay(1234);
    assert.equal(result.responseCode, '00');
    const stan = String(result.request!.fields[11]);
    const list = await get<{ data: { id: string; token_masked: string; terminal_id: string; amount: number; status: string; latency_ms: number; network: { status: string; latency_ms: number } | null; issuer: { response_code: string } | null; trace_key: string; trace_available: boolean }[] }>('/ops/v1/authorizations?limit=10');
    const row = list.data.find((a) => a.amount === 1234)!;
    assert.ok(row, 'the tap is in the list');
    assert.equal(row.status, 'approved');
    assert.equal(row.network?.status, 'approved');
    assert.equal(row.issuer?.response_code, '00');
    assert.ok(row.trace_available);
    assert.ok(row.trace_key.includes(`:${stan}:`));
    // The outbox delivery to the platform joins the same flow a moment later.
    await t.tessera.outbox.runOnce();
    type Trace = { flow: { id: string; parties: string[] }; events: { from: string; to: string; protocol: string; hex?: string; json?: unknown; decoded: { summary: string; fields: { id: string; value: string; tags?: unknown[] }[] } }[] };
    const trace = await get<Trace>(`/ops/v1/traces/${encodeURIComponent(row.trace_key)}`);
    const hops = trace.events.map((e) => `${e.from}>${e.to}`);
    for (const hop of ['terminal>acquirer', 'acquirer>network:mastercard', 'network:mastercard>issuer:iss_tessera_bank', 'issuer:iss_tessera_bank>network:mastercard', 'network:mastercard>acquirer', 'acquirer>terminal', 'network:mastercard>platform', 'platform>network:mastercard']) {
      assert.ok(hops.includes(hop), `hop ${hop} in ${hops.join(', ')}`);
    }
    assert.ok(hops.indexOf('terminal>acquirer') < hops.indexOf('acquirer>network:mastercard'));
    const isoIn = trace.events.find((e) => e.from === 'terminal' && e.protocol === 'iso8583')!;
    const de2 = isoIn.decoded.fields.find((f) => f.id === 'DE 2')!;
    assert.match(de2.value, /^\d{6}\*+\d{4}$/);
    assert.ok(isoIn.decoded.fields.find((f) => f.id === 'DE 55')?.tags?.length);
    const toIssuer = trace.events.find((e) => e.to.startsWith('issuer:') && e.protocol === 'iso8583')!;
    assert.match(toIssuer.decoded.fields.find((f) => f.id === 'DE 2')!.value, /^\d{6}\*+\d{4}$/);
    // Nothing in the whole flow shows more than the first six and last four of a number.
    const text = JSON.stringify(trace);
    for (const run of text.match(/\d{13,19}/g) ?? []) assert.ok(!SANDBOX_CARDS.some((c) => run.includes(c.number)), 'no card number');
    // The hex itself: DE 2 (the token) and the card number in the issuer's message are masked in place.
    const asciiOfHex = trace.events.filter((e) => e.hex).map((e) => Buffer.from(e.hex!, 'hex').toString('latin1')).join('\n');
    const first6 = row.token_masked.slice(0, 6);
    const last4 = row.token_masked.slice(-4);
    assert.ok(asciiOfHex.includes(`${first6}******${last4}`));
    assert.doesNotMatch(asciiOfHex, new RegExp(`${first6}\\d{3,9}${last4}`));
    assert.doesNotMatch(asciiOfHex, /5555555555554444/);
    assert.doesNotMatch(text, /5555555555554444/);
    // The terminal adds its APDU exchange (masked by the server); unknown transmissions are refused.
    const apdus = await t.request({
      method: 'POST',
      url: '/ops/v1/traces/apdus',
      auth: terminal.apiKey,
      payload: { terminal_id: terminal.terminalId, stan, transmitted: String(result.request!.fields[7]), exchanges: [{ from: 'terminal', hex: '00A404000E325041592E5359532E444446303100' }, { from: 'device', hex: '70135A0855555555555544445F24033012319000'.replace(/9000$/, '') + '9000' }] },
    });
    assert.equal(apdus.statusCode, 201, apdus.body);
    const withApdus = await get<Trace>(`/ops/v1/traces/${encodeURIComponent(row.trace_key)}`);
    assert.equal(withApdus.events[0]!.protocol, 'apdu');
    assert.equal(withApdus.events[0]!.decoded.summary, 'SELECT');
    assert.doesNotMatch(JSON.stringify(withApdus.events[1]), /5555555555554444/);
    const unknown = await t.request({ method: 'POST', url: '/ops/v1/traces/apdus', auth: terminal.apiKey, payload: { terminal_id: 'COFFEE01', stan: '000001', transmitted: '0101000000', exchanges: [{ from: 'terminal', hex: '00A40400' }] } });
    assert.equal(unknown.statusCode, 404);
    const recent = await get<{ data: { id: string }[] }>('/ops/v1/traces');
    assert.ok(recent.data.some((f) => f.id === trace.flow.id));
  });

  it('overview, token lookup, outbox and webhook deliveries', async () => {
    const overview = await get<{ networks: { brand: string; tokens: Record<string, number> }[]; issuers: { id: string; cards: number }[]; merchants: { name: string; terminals: { terminal_id: string }[] }[] }>('/ops/v1/overview');
    assert.equal(overview.networks.find((n) => n.brand === 'mastercard')!.tokens.active, 1);
    assert.ok(overview.issuers.find((i) => i.id === 'iss_tessera_bank')!.cards >= 12);
    assert.ok(overview.merchants.find((m) => m.name === 'Corner Coffee')!.terminals.some((x) => x.terminal_id === 'COFFEE01'));
    const tokens = await get<{ data: { token_ref: string; card_last4: string; token_last4: string; status: string }[] }>('/ops/v1/tokens?last4=4444');
    assert.equal(tokens.data.length, 1);
    assert.equal(tokens.data[0]!.status, 'active');
    assert.doesNotMatch(JSON.stringify(tokens), /\d{13,19}/);
    const byRef = await get<{ data: unknown[] }>(`/ops/v1/tokens?token_ref=${tokens.data[0]!.token_ref}`);
    assert.equal(byRef.data.length, 1);
    assert.equal((await t.request({ method: 'GET', url: '/ops/v1/tokens', auth: opsKey })).statusCode, 400);
    await t.tessera.outbox.runOnce();
    const outbox = await get<{ topics: { topic: string; delivered: number; pending: number }[] }>('/ops/v1/outbox');
    assert.ok(outbox.topics.find((x) => x.topic === 'network.transaction')!.delivered >= 1);
    const deliveries = await get<{ object: string; data: unknown[] }>('/ops/v1/webhook-deliveries');
    assert.equal(deliveries.object, 'list');
  });

  it('streams the counters as server-sent events', async () => {
    const stream = t.tessera.observer.counterStream(50);
    const chunks: string[] = [];
    for await (const chunk of stream) {
      chunks.push(String(chunk));
      if (chunks.length === 2) break;
    }
    stream.destroy();
    for (const c of chunks) assert.match(c, /^event: counters\ndata: \{"object":"counters".*\}\n\n$/s);
    const route = t.tessera.parties.find((p) => p.name === 'ops')!.routes.find((r) => r.url === '/ops/v1/counters/stream')!;
    const result = await route.handler({} as never);
    assert.equal(result.headers?.['content-type'], 'text/event-stream; charset=utf-8');
    result.stream!.destroy();
  });
});

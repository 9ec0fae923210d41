import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { Observer } from './observer.js';

/**
 * The console's counters count every answer of the acquirer's authorization routes: a terminal's (an
 * external request) and a web payment's, which the demo store's server makes to the acquirer inside
 * this process (so its request is not external). A replayed answer (same Idempotency-Key) is no new one.
 */
describe('Observer counters', () => {
  let app: FastifyInstance;
  let observer: Observer;
  let replay = false;

  before(async () => {
    observer = new Observer({ traceCapacity: 100 });
    app = Fastify();
    observer.install(app);
    app.post('/acquirer/v1/ecommerce/authorizations', async (_req, reply) => {
      if (replay) reply.header('idempotent-replayed', 'true');
      const { approve, id } = _req.body as { approve: boolean; id?: string };
      return approve ? { id: id ?? 'auth_1234567890', status: 'approved', responseCode: '00' } : { id: id ?? 'auth_1234567891', status: 'declined', responseCode: '51', declineReason: 'insufficient_funds' };
    });
    // The store's server: a party of this process calling the acquirer in process, as InjectTransport does.
    // Its transport traces the call, as the platform's TracingTransport does.
    app.post('/store/api/orders/:id/payments', async (req) => {
      const ts = new Date().toISOString();
      observer.sink.record({ ts, from: 'store', to: 'acquirer', protocol: 'http', json: { method: 'POST', path: '/acquirer/v1/ecommerce/authorizations' } });
      const res = await app.inject({ method: 'POST', url: '/acquirer/v1/ecommerce/authorizations', payload: req.body as object });
      observer.sink.record({ ts, from: 'acquirer', to: 'store', protocol: 'http', json: { status: res.statusCode, body: res.json() } });
      return res.json();
    });
    await app.ready();
  });
  after(async () => {
    await app.close();
    observer.close();
  });

  it('counts a web payment answered to a party in process, approved or declined, once each', async () => {
    assert.equal((await app.inject({ method: 'POST', url: '/store/api/orders/ord_1/payments', payload: { approve: true } })).statusCode, 200);
    assert.equal((await app.inject({ method: 'POST', url: '/store/api/orders/ord_2/payments', payload: { approve: false } })).statusCode, 200);
    const c = observer.counters.snapshot();
    assert.deepEqual(c.authorizations, { total: 2, approved: 1, declined: 1, errors: 0, reversals: 0 });
    assert.deepEqual(c.declines_by_reason, { '51 insufficient_funds': 1 });
    assert.equal(c.latency_ms.samples, 2);
  });

  it('counts a merchant calling from outside too, and a replayed answer not at all', async () => {
    await app.inject({ method: 'POST', url: '/acquirer/v1/ecommerce/authorizations', payload: { approve: true } });
    replay = true;
    await app.inject({ method: 'POST', url: '/acquirer/v1/ecommerce/authorizations', payload: { approve: true } });
    await app.inject({ method: 'POST', url: '/store/api/orders/ord_1/payments', payload: { approve: true } });
    replay = false;
    assert.deepEqual(observer.counters.snapshot().authorizations, { total: 3, approved: 2, declined: 1, errors: 0, reversals: 0 });
  });

  it("records the web payment's flow from the store's API, found by the authorization's id", async () => {
    await app.inject({ method: 'POST', url: '/store/api/orders/ord_3/payments', payload: { approve: true, id: 'auth_web0000001' } });
    const found = observer.traces.get('id:auth_web0000001');
    assert.ok(found, 'the flow is found by the authorization id its answer carries');
    const hops = found.events.map((e) => `${e.from}>${e.to}`);
    assert.deepEqual(hops, ['client>store', 'store>acquirer', 'acquirer>store', 'store>client']);
  });
});

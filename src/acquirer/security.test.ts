import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { checkRouteSecurity } from '../../test/helpers/security.js';
import { toHex } from '../protocol/bytes.js';
import { packMessage, unpackMessage } from '../protocol/iso8583/iso8583.js';
import { approve, build0100, build0400, NETWORK_DE55_HEX, startAcquirerTestEnv, TERMINAL_DE55_HEX, token, type AcquirerTestEnv } from './acquirer.test-helper.js';

let t: AcquirerTestEnv;
/** Every token the flows below sent. */
const tokens = new Set<string>();

before(async () => {
  t = await startAcquirerTestEnv();
  await runFlows();
});
after(async () => {
  await t.close();
});

/** Every kind of flow, so the scans below look at real rows and real log lines. */
async function runFlows(): Promise<void> {
  const send = async (pan: string, reply: typeof t.network.reply, over: Record<number, string> = {}) => {
    tokens.add(pan);
    t.network.reply = reply;
    const req = build0100({ pan, terminal: t.terminals.coffee, extra: over });
    await t.exchange(req);
    return req;
  };
  const approved = await send(token('visa'), (m) => approve(m));
  await t.exchange(approved);
  await t.exchange({ mti: '0100', fields: { ...approved.fields, 4: '000000000001' } });
  await send(token('mastercard'), (m) => approve(m, '51'));
  await send(token('amex'), (m) => ({ ...approve(m), delayMs: 1500 }));
  await send(token('discover'), () => ({ kind: 'unavailable' }));
  await send(token('visa'), () => ({ kind: 'raw', status: 200, raw: new Uint8Array([9, 9, 9]) }));
  await send(token('visa'), () => ({ kind: 'raw', status: 400, body: { error: { code: 'iso8583_invalid' } } }));
  const reversed = await send(token('mastercard'), (m) => approve(m));
  await t.exchange(build0400(reversed));
  t.network.reply = (m) => approve(m);
  await t.acquirer.runPendingReversals();
}

describe('acquirer: who may call', () => {
  it('no credentials → 401; every role the route does not admit → 403 (admin routes, the terminal route)', async () => {
    const checks = await checkRouteSecurity(t.app, t.acquirer.routes, t.keys);
    assert.ok(checks >= t.acquirer.routes.length * 10, `${checks} checks`);
  });

  it('the authorization route: no key 401, a merchant / acquirer / admin key 403, before the body is looked at', async () => {
    const bytes = packMessage(build0100({ terminal: t.terminals.coffee }));
    assert.equal((await t.send(bytes, '')).statusCode, 401);
    const none = await t.app.inject({ method: 'POST', url: '/acquirer/v1/authorizations', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(bytes) });
    assert.equal(none.statusCode, 401);
    for (const role of ['merchant', 'acquirer', 'admin', 'network', 'issuer', 'platform'] as const) {
      const res = await t.send(bytes, t.keys[role]);
      assert.equal(res.statusCode, 403, role);
      assert.equal(res.json().error.code, 'permission_denied');
    }
    const revoked = await t.apiKeys.create('terminal', t.terminals.coffee.terminal);
    const [row] = await t.apiKeys.list({ role: 'terminal', ownerId: t.terminals.coffee.terminal });
    assert.ok(row);
    await t.apiKeys.revoke(revoked.id);
    assert.equal((await t.send(bytes, revoked.secret)).statusCode, 401);
    // A terminal key whose owner is no terminal of this acquirer.
    const stray = await t.apiKeys.create('terminal', 'term_unknown');
    assert.equal((await t.send(bytes, stray.secret)).statusCode, 403);
  });
});

describe('acquirer: hostile bodies', () => {
  const runs = Number(process.env.ACQUIRER_FUZZ_RUNS ?? 3000);

  it(`${runs} random and mutated bodies: never a 500; a 400 iso8583_invalid or a 0110/0410`, async () => {
    const seed = packMessage(build0100({ terminal: t.terminals.coffee }));
    const reversal = packMessage(build0400(build0100({ terminal: t.terminals.coffee })));
    t.network.reply = (m) => approve(m);
    const statuses = new Map<number, number>();
    for (let i = 0; i < runs; i++) {
      let body: Uint8Array;
      const base = i % 2 === 0 ? seed : reversal;
      switch (i % 5) {
        case 0:
          body = randomBytes(Math.floor(Math.random() * 300));
          break;
        case 1:
          body = base.subarray(0, Math.floor(Math.random() * base.length));
          break;
        case 2: {
          body = Uint8Array.from(base);
          for (let k = 0; k < 1 + Math.floor(Math.random() * 4); k++) body[Math.floor(Math.random() * body.length)] = Math.floor(Math.random() * 256);
          break;
        }
        case 3: {
          // Mutations that keep the frame parsable: digits changed inside fields, so real flows run.
          body = Uint8Array.from(base);
          const at = 12 + Math.floor(Math.random() * (body.length - 12));
          if (body[at]! >= 0x30 && body[at]! <= 0x39) body[at] = 0x30 + Math.floor(Math.random() * 10);
          break;
        }
        default:
          body = Buffer.concat([base, randomBytes(1 + Math.floor(Math.random() * 10))]);
      }
      const res = await t.send(body);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      assert.ok(res.statusCode === 200 || res.statusCode === 400 || res.statusCode === 403, `run ${i}: ${res.statusCode} ${res.body}`);
      if (res.statusCode === 200) {
        const answer = unpackMessage(new Uint8Array(res.rawPayload));
        assert.ok(answer.mti === '0110' || answer.mti === '0410');
        assert.match(answer.fields[39] as string, /^[0-9A-Z]{2}$/);
      } else if (res.statusCode === 400) {
        assert.equal(res.json().error.code, 'iso8583_invalid');
      } else {
        assert.equal(res.json().error.type, 'permission_error');
      }
    }
    assert.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, JSON.stringify([...statuses]));
  });
});

describe('acquirer: no card data where it must not be', () => {
  const needles = () => {
    const out: string[] = [];
    for (const p of tokens) out.push(p);
    for (const hex of [TERMINAL_DE55_HEX, NETWORK_DE55_HEX]) out.push(hex, hex.toLowerCase());
    // The ARQC alone, in either case and as base64.
    out.push('DEADBEEFCAFE1234', 'deadbeefcafe1234', Buffer.from('DEADBEEFCAFE1234', 'hex').toString('base64'));
    return out;
  };

  it('the log holds no full token and no ICC data', () => {
    const log = t.env.logLines.join('\n');
    assert.ok(t.env.logLines.length > 20);
    assert.ok(log.includes('"de55_bytes"'), 'messages are logged, as a masked view');
    for (const n of needles()) assert.ok(!log.includes(n), `log contains ${n.slice(0, 6)}…`);
  });

  it('the database keeps no ICC data of the terminal (PCI DSS 3.3.1); the token only inside the messages it must answer with', async () => {
    const { rows } = await t.env.db.query<{ j: unknown }>(
      `SELECT to_jsonb(x) AS j FROM (SELECT id, terminal_id, merchant_id, stan, transmitted, rrn, brand, token_masked, amount, currency, status, response_code, auth_code FROM acquirer.authorizations) x
       UNION ALL SELECT to_jsonb(y) FROM (SELECT id, authorization_id, reason, status, brand, stan, last_error FROM acquirer.reversals) y`,
    );
    const text = JSON.stringify(rows);
    for (const p of tokens) assert.ok(!text.includes(p), 'no full token outside the message columns');
    // The messages themselves are sealed (test/e2e/at-rest.test.ts scans them for the token): opened, they hold no ICC data either.
    const vault = t.acquirer.messages;
    const blobs = await t.env.db.query<{ id: string; forwarded: Uint8Array; response: Uint8Array | null }>('SELECT id, forwarded, response FROM acquirer.authorizations');
    const messages = await t.env.db.query<{ id: string; message: Uint8Array }>('SELECT id, message FROM acquirer.reversals');
    const kept = [
      ...(await Promise.all(blobs.rows.map((r) => vault.open(r.forwarded, 'authorizations.forwarded', r.id)))),
      ...(await Promise.all(messages.rows.map((r) => vault.open(r.message, 'reversals.message', r.id)))),
    ];
    for (const b of kept) {
      const hex = toHex(new Uint8Array(b));
      assert.ok(!hex.includes('DEADBEEFCAFE1234'), 'no ARQC at rest');
      assert.equal(unpackMessage(new Uint8Array(b)).fields[55], undefined);
    }
    for (const r of blobs.rows) if (r.response) assert.ok(!toHex(await vault.open(r.response, 'authorizations.response', r.id)).includes('DEADBEEFCAFE1234'));
  });

  it('error bodies echo nothing of the message', async () => {
    const pan = token('visa');
    const req = build0100({ pan, terminal: t.terminals.coffee });
    const bytes = packMessage(req);
    for (const body of [bytes.subarray(0, bytes.length - 3), Buffer.concat([bytes, Buffer.from('Z')])]) {
      const res = await t.send(body);
      assert.equal(res.statusCode, 400);
      assert.ok(!res.body.includes(pan) && !res.body.includes(pan.slice(6, 12)));
    }
    const mismatch = await t.send(packMessage({ mti: '0100', fields: { ...req.fields, 41: 'GATE0001' } }));
    assert.equal(mismatch.statusCode, 403);
    assert.ok(!mismatch.body.includes(pan) && !mismatch.body.includes('GATE0001'));
  });
});

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { answersHealth, choosePlatform, DEFAULT_URL, describeChoice } from './platform.js';

describe('which platform a scenario runs against', () => {
  let server: Server;
  let url: string;
  before(async () => {
    // A stand-in answering /health as a Tessera platform does, and 404 elsewhere.
    server = createServer((req, res) => {
      if (req.url === '/health') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', version: '0.1.0', database: { kind: 'pglite', ok: true }, cache: { kind: 'memory', ok: true } }));
      else res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('--url wins without any look-up; --embedded takes a throwaway platform without any look-up', async () => {
    const probed: string[] = [];
    const probe = async (u: string) => (probed.push(u), true);
    assert.deepEqual(await choosePlatform({ url: 'http://10.0.0.1:9000/', probe, env: {} }), { kind: 'url', url: 'http://10.0.0.1:9000/', detected: false });
    assert.deepEqual(await choosePlatform({ embedded: true, probe, env: {} }), { kind: 'embedded' });
    assert.deepEqual(probed, []);
  });

  it('without either: the default URL (127.0.0.1:8080 unless TESSERA_DEFAULT_URL) when it answers, else a throwaway platform', async () => {
    const probed: string[] = [];
    assert.deepEqual(await choosePlatform({ env: {}, probe: async (u) => (probed.push(u), false) }), { kind: 'embedded' });
    assert.deepEqual(probed, [new URL(DEFAULT_URL).toString()]);
    assert.deepEqual(await choosePlatform({ env: { TESSERA_DEFAULT_URL: url } }), { kind: 'url', url, detected: true });
    assert.deepEqual(await choosePlatform({ env: { TESSERA_DEFAULT_URL: '' }, probe: async () => true }), { kind: 'embedded' });
    assert.match(describeChoice({ kind: 'url', url, detected: true }), /already running at http:\/\/127\.0\.0\.1:\d+\/.*--embedded/);
    assert.match(describeChoice({ kind: 'embedded' }), /throwaway embedded platform/);
  });

  it('answersHealth: true for a Tessera /health, false for anything else or nothing listening', async () => {
    assert.equal(await answersHealth(url), true);
    // A port nothing listens on (this server's, once closed, is not reusable reliably): a fresh one closed at once.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    assert.equal(await answersHealth(`http://127.0.0.1:${port}/`), false);
    const other = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      assert.equal(await answersHealth(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`), false);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });
});

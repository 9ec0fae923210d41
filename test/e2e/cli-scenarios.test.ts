import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startTestTessera } from '../helpers/tessera.js';

// Scenarios and benches start their own embedded platform: keep them off the suite's servers, and off
// any platform a developer runs at the default URL (TESSERA_DEFAULT_URL="" turns that look-up off).
const ISOLATED = { DATABASE_URL: '', REDIS_URL: '', TESSERA_DEFAULT_URL: '' };

/** The scenario and bench commands as a user runs them: separate processes, exit codes, output contracts. */
function tessera(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['bin/tessera.js', ...args], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, ...ISOLATED, ...env } });
}

/** The same, without blocking this process's event loop (for a platform or a stand-in served from this test). */
function tesseraAsync(args: string[], env: Record<string, string | undefined> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/tessera.js', ...args], { env: { ...process.env, ...ISOLATED, ...env } as NodeJS.ProcessEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000); // a safety net against a hang, not a speed limit
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A stand-in platform on a free loopback port: answers /health as Tessera does, `routes` as given, 404 elsewhere; records every request. */
async function standIn(routes: Record<string, { status: number; body: unknown }> = {}): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    seen.push(`${req.method} ${req.url}`);
    const route = req.url === '/health' ? { status: 200, body: { status: 'ok', version: '0.1.0' } } : routes[`${req.method} ${req.url}`];
    res.writeHead(route?.status ?? 404, { 'content-type': 'application/json' }).end(JSON.stringify(route?.body ?? { error: { type: 'invalid_request_error', code: 'route_not_found', message: 'No such route.' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('tessera scenario and bench', () => {
  it('scenario provision --yellow --trace: exits 0 with the card active, a JSON Lines trace with card numbers masked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-scn-'));
    try {
      const trace = join(dir, 'trace.jsonl');
      const r = tessera(['scenario', 'provision', '--network', 'amex', '--yellow', '--trace', trace]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /one-time code confirmed/);
      assert.match(r.stdout, /OK: amex card active/);
      const lines = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ts: string; from: string; to: string; protocol: string });
      assert.ok(lines.length > 10);
      for (const l of lines) {
        assert.ok(l.ts && l.from && l.to && ['http', 'apdu', 'iso8583'].includes(l.protocol));
      }
      assert.ok(lines.some((l) => l.from.startsWith('network:amex') && l.to.startsWith('issuer:')));
      assert.equal(readFileSync(trace, 'utf8').includes('378282246310005'), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scenario tap --replay: approved once, the replays refused, one hold; the trace has APDUs and ISO 8583', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-scn-'));
    try {
      const trace = join(dir, 'trace.jsonl');
      const r = tessera(['scenario', 'tap', '--network', 'mastercard', '--amount', '4.20', '--replay', '--trace', trace]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /APPROVED: DE39 00/);
      assert.match(r.stdout, /DE39 94/);
      assert.match(r.stdout, /1 active hold/);
      const text = readFileSync(trace, 'utf8');
      const events = text.trim().split('\n').map((l) => JSON.parse(l) as { protocol: string; from: string; to: string; hex?: string });
      assert.ok(events.some((e) => e.protocol === 'apdu' && e.from === 'terminal' && e.to === 'device'));
      assert.ok(events.some((e) => e.protocol === 'iso8583' && e.to.startsWith('issuer:')));
      // The issuer hop carries the card number: in the trace its middle digits are '*' (0x2A).
      const issuerHop = events.find((e) => e.protocol === 'iso8583' && e.to.startsWith('issuer:'))!;
      assert.equal(issuerHop.hex!.includes(Buffer.from('5555555555554444').toString('hex').toUpperCase()), false);
      assert.ok(issuerHop.hex!.includes(Buffer.from('555555').toString('hex').toUpperCase() + '2A2A2A2A2A2A'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad arguments exit 2 with one line, before any platform is looked for or started', async () => {
    // A platform at the default URL would be asked /health first, and a throwaway one would write its
    // schema snapshot into the (empty) cache folder: neither may happen for arguments that are wrong.
    const probe = await standIn();
    const cache = mkdtempSync(join(tmpdir(), 'tessera-scn-cache-'));
    try {
      for (const args of [
        ['scenario', 'tap', '--amount', 'abc'],
        ['scenario', 'provision', '--card', '4111111111111112'],
        ['scenario', 'tap', '--network', 'diners'],
        ['scenario', 'tap', '--bogus'],
        ['scenario', 'tap', '--url', 'http://127.0.0.1:1/', '--embedded'],
        ['scenario', 'reissue', '--currency', 'EUR'],
        ['bench', 'tap', '--duration', '0'],
        ['scenario', 'nope'],
      ]) {
        const r = await tesseraAsync(args, { TESSERA_DEFAULT_URL: probe.url, TESSERA_CACHE_DIR: cache });
        assert.equal(r.status, 2, args.join(' '));
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.equal(r.stdout, '', `${args.join(' ')}: nothing started, nothing said on stdout`);
      }
      assert.deepEqual(probe.seen, [], 'no platform was looked for');
      assert.deepEqual(readdirSync(cache), [], 'no throwaway platform was started');
    } finally {
      await probe.close();
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('against an already running platform: --url, and the default URL when one answers there; the output says which', async () => {
    const t = await startTestTessera();
    try {
      await t.tessera.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(t.tessera.app.server.address() as AddressInfo).port}/`;
      const before = (await t.tessera.db.query<{ n: number }>('SELECT count(*)::int AS n FROM acquirer.authorizations')).rows[0]!.n;
      // The sandbox publishes its readers: no admin key needed for a tap.
      const tap = await tesseraAsync(['scenario', 'tap', '--url', url, '--network', 'visa', '--amount', '2.50'], { TESSERA_ADMIN_KEY: undefined });
      assert.equal(tap.status, 0, tap.stdout + tap.stderr);
      assert.match(tap.stdout, new RegExp(`^ 1\\. platform at ${url.replace(/[.]/g, '\\.')}$`, 'm'));
      assert.match(tap.stdout, /APPROVED: DE39 00/);
      const after = (await t.tessera.db.query<{ n: number }>('SELECT count(*)::int AS n FROM acquirer.authorizations')).rows[0]!.n;
      assert.equal(after, before + 1, 'the tap reached this platform');
      // No --url: the platform answering at the (injected) default URL is used, and named.
      const found = await tesseraAsync(['scenario', 'provision', '--network', 'mastercard'], { TESSERA_DEFAULT_URL: url });
      assert.equal(found.status, 0, found.stdout + found.stderr);
      assert.match(found.stdout, new RegExp(`^ 1\\. platform already running at ${url.replace(/[.]/g, '\\.')} \\(found at the default URL`, 'm'));
      assert.match(found.stdout, /OK: mastercard card active/);
    } finally {
      await t.close();
    }
  });

  it('tap --url checks that it can get a reader before it signs anyone up', async () => {
    // A platform without a sandbox (GET /sandbox/v1 is 404) and no TESSERA_ADMIN_KEY: no reader to tap.
    const platform = await standIn();
    try {
      const r = await tesseraAsync(['scenario', 'tap', '--url', platform.url], { TESSERA_ADMIN_KEY: undefined });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /FAILED: .*no sandbox reader.*TESSERA_ADMIN_KEY/);
      assert.doesNotMatch(r.stdout, /sign up/);
      assert.deepEqual(platform.seen.filter((s) => !s.startsWith('GET ')), [], 'nothing was created: no sign-up');
    } finally {
      await platform.close();
    }
  });

  it('bench tap prints a progress bar and ends with the JSON summary line', () => {
    const r = tessera(['bench', 'tap', '--duration', '2', '--concurrency', '4', '--expected-rps', '40']);
    assert.equal(r.status, 0, r.stderr);
    const last = r.stdout.trim().split('\n').at(-1)!;
    const summary = JSON.parse(last) as Record<string, unknown>;
    assert.deepEqual(Object.keys(summary), ['scenario', 'ok', 'failed', 'rps', 'p50_ms', 'p99_ms']);
    assert.equal(summary.scenario, 'tap');
    assert.ok((summary.ok as number) > 0);
    assert.match(r.stderr, /█/);
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/** The scenario and bench commands as a user runs them: separate processes, exit codes, output contracts. */
function tessera(args: string[], env: Record<string, string> = {}) {
  // Scenarios and benches start their own embedded platform: keep them off the suite's servers.
  return spawnSync(process.execPath, ['bin/tessera.js', ...args], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', ...env } });
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

  it('bad arguments exit 2 with one line', () => {
    for (const args of [['scenario', 'tap', '--amount', 'abc'], ['scenario', 'provision', '--card', '4111111111111112'], ['scenario', 'tap', '--network', 'diners'], ['bench', 'tap', '--duration', '0'], ['scenario', 'nope']]) {
      const r = tessera(args);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
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

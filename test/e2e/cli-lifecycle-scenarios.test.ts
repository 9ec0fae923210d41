import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/** `tessera scenario lost-device` and `scenario reissue` as a user runs them: separate processes, exit codes, output. */
function tessera(args: string[]) {
  return spawnSync(process.execPath, ['bin/tessera.js', ...args], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', TESSERA_DEFAULT_URL: '' } });
}

describe('tessera scenario lost-device and reissue', () => {
  it('lost-device: approved before the report, declined 62 after; exit 0', () => {
    const r = tessera(['scenario', 'lost-device', '--amount', '3.50']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /before: tap 3\.50 USD .* APPROVED: DE39 00/);
    assert.match(r.stdout, /reports device dev_\w+ lost/);
    assert.match(r.stdout, /after: tap 3\.50 USD .* DECLINED: DE39 62/);
    assert.match(r.stdout, /^OK: lost-device: approved before/m);
  });

  it('reissue --trace: approved before and after with the same token, the wallet shows the new last4; no card number in the trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-scn-'));
    try {
      const trace = join(dir, 'trace.jsonl');
      const r = tessera(['scenario', 'reissue', '--network', 'visa', '--trace', trace]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const before = /before: .* APPROVED: DE39 00/.exec(r.stdout);
      const after = /after: .* APPROVED: DE39 00/.exec(r.stdout);
      assert.ok(before && after && before.index < after.index, r.stdout);
      const newLast4 = /new number \d{6}\*+(\d{4})/.exec(r.stdout)?.[1];
      assert.ok(newLast4, r.stdout);
      assert.match(r.stdout, new RegExp(`wallet shows •••• ${newLast4}`));
      assert.match(r.stdout, /1 token re-mapped/);
      assert.match(r.stdout, /^OK: reissue: approved before and after the reissue with the same token/m);
      const events = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { from: string; to: string });
      assert.ok(events.some((e) => e.from.startsWith('issuer:') && e.to === 'network:visa'), 'the outbox delivery to the network is traced');
      assert.equal(/4\d{15}/.test(readFileSync(trace, 'utf8').replace(/"(ts|hex|id)":"[^"]*"/g, '')), false, 'no full card or token number');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad arguments exit 2 with one line', () => {
    for (const args of [['scenario', 'lost-device', '--amount', 'abc'], ['scenario', 'reissue', '--network', 'diners'], ['scenario', 'lost-device', '--url', 'ftp://x']]) {
      const r = tessera(args);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});

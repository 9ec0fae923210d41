import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createTestDatabase } from '../helpers/env.js';

/** A safety net only: a start that never comes up must not hang the suite. */
const SAFETY_NET_MS = 240_000;
const PAGES = ['/', '/wallet', '/terminal', '/store', '/console', '/docs', '/sandbox/v1'];

interface Started {
  child: ChildProcess;
  out: () => string;
  banner: string;
  base: string;
}

/** Starts `tessera start` (stdout not a terminal: JSON logs) and waits for the banner's last line. */
async function start(dir: string, databaseUrl: string | undefined): Promise<Started> {
  const child = spawn(process.execPath, ['bin/tessera.js', 'start', '--port', '0', '--data', dir], {
    env: { ...process.env, LOG_LEVEL: 'info', LOG_FORMAT: '', TESSERA_MTLS_PORT: '0', TESSERA_ADMIN_KEY: '', REDIS_URL: '', DATABASE_URL: databaseUrl ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const banner = await new Promise<string>((resolve, reject) => {
    const net = setTimeout(() => reject(new Error(`no banner:\n${out}`)), SAFETY_NET_MS);
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
    const check = () => {
      const i = out.indexOf('\nTessera is running: ');
      if (i >= 0 && /Stop with Ctrl-C\.\n/.test(out.slice(i))) {
        clearTimeout(net);
        resolve(out.slice(i));
      } else setTimeout(check, 50);
    };
    check();
  });
  const base = /Tessera is running: (http:\/\/\S+?)\/\n/.exec(banner)![1]!;
  return { child, out: () => out, banner, base };
}

async function stop(s: Started): Promise<number | null> {
  const exit = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
  s.child.kill('SIGTERM');
  return exit;
}

describe('tessera start: the banner and the admin key', () => {
  it('comes after every log line, links every page, keeps the new admin key in the data folder (0600) and says where on the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-banner-'));
    const database = await createTestDatabase();
    let first: Started | undefined;
    let second: Started | undefined;
    try {
      first = await start(dir, database.url);
      // JSON logs (stdout is not a terminal), all of them before the banner.
      const before = first.out().slice(0, first.out().indexOf(first.banner)).trim().split('\n').filter((l) => l.length > 0);
      assert.ok(before.length > 0, 'LOG_LEVEL=info logs the start');
      for (const line of before) assert.doesNotThrow(() => JSON.parse(line), line);
      assert.ok(before.some((l) => /Server listening/.test(l)));
      // The store sets itself up as a merchant once the app listens: its last step is logged before the banner too.
      assert.ok(before.some((l) => /store: signed up with the acquirer/.test(l)), 'the store set-up comes before the banner');
      for (const page of PAGES) assert.match(first.banner, new RegExp(`  ${first.base.replace(/[.]/g, '\\.')}${page}\\s`), page);

      const file = join(dir, 'admin-key.txt');
      const key = /admin API key \(shown once here; also kept in (\S+), readable by you only\):\n\s+(tsk_admin_\w+)\n/.exec(first.banner);
      assert.ok(key, first.banner);
      assert.equal(key[1], file);
      assert.equal(readFileSync(file, 'utf8'), `${key[2]}\n`);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      // The key works: the operator's API answers it.
      const me = await fetch(`${first.base}/ops/v1/api-keys`, { headers: { authorization: `Bearer ${key[2]}` } });
      assert.equal(me.status, 200);
      for (const page of ['/health', '/sandbox/v1', '/docs']) assert.equal((await fetch(`${first.base}${page}`)).status, 200, page);
      assert.equal(await stop(first), 0);
      first = undefined;

      second = await start(dir, database.url);
      assert.match(second.banner, new RegExp(`admin API key {2}in ${file.replace(/[.]/g, '\\.')} \\(made on the first start\\)`));
      assert.doesNotMatch(second.out(), /tsk_admin_/);
      assert.equal(readFileSync(file, 'utf8'), `${key[2]}\n`);
      assert.equal(await stop(second), 0);
      second = undefined;
    } finally {
      first?.child.kill('SIGKILL');
      second?.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      await database.drop();
    }
  });
});

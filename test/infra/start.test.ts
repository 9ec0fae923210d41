import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createTestDatabase } from '../helpers/env.js';

describe('tessera start', () => {
  it('serves /health, prints where things are, and shuts down cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-start-'));
    const database = await createTestDatabase();
    const child = spawn(process.execPath, ['bin/tessera.js', 'start', '--port', '0', '--data', dir], {
      env: { ...process.env, LOG_LEVEL: 'warn', TESSERA_MTLS_PORT: '0', ...(database.url ? { DATABASE_URL: database.url } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        // A safety net against a start that never comes, not a speed limit (start-up time is `tessera bench`'s).
        const timer = setTimeout(() => reject(new Error(`no start within 3 minutes:\n${out}`)), 180_000);
        const check = () => {
          const m = /API\s+(http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          } else setTimeout(check, 50);
        };
        check();
      });
      const res = await fetch(`${base}/health`);
      assert.equal(res.status, 200);
      assert.match(out, /admin API key \(shown once/);
      assert.match(out, /docs/);
      assert.match(out, /merchant validation \(mutual TLS\)\s+https:\/\/127\.0\.0\.1:\d+\/paymentservices\/startSession/);
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exit, 0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      await database.drop();
    }
  });
});

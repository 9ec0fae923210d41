import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/infra/config.js';

describe('configuration', () => {
  it('parses defaults into a frozen object', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.dataDir, './data');
    assert.equal(c.databaseUrl, undefined);
    // Unset log level and format: the logger picks them by where its output goes (src/infra/logger.ts).
    assert.equal(c.logLevel, undefined);
    assert.equal(c.logFormat, undefined);
    assert.equal(loadConfig({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'debug' }).logFormat, 'pretty');
    assert.ok(Object.isFrozen(c));
    assert.throws(() => {
      (c as { port: number }).port = 1;
    });
  });

  it('treats empty variables as unset', () => {
    assert.equal(loadConfig({ DATABASE_URL: '', REDIS_URL: '' }).databaseUrl, undefined);
  });

  for (const [name, value] of [
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://root:hunter2@localhost/x'],
    ['REDIS_URL', 'http://localhost'],
    ['LOG_LEVEL', 'loud'],
    ['LOG_FORMAT', 'xml'],
    ['TESSERA_KEK', 'c2hvcnQ='],
  ] as const) {
    it(`rejects a bad ${name} naming the variable and not echoing the value`, () => {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.message.includes(name) && !err.message.includes(value),
      );
    });
  }

  it('makes `tessera start` exit 2 with a one-line message naming the variable', () => {
    const r = spawnSync(process.execPath, ['bin/tessera.js', 'start'], { env: { ...process.env, DATABASE_URL: 'mysql://root:hunter2@db/x' }, encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /DATABASE_URL/);
    assert.doesNotMatch(r.stderr, /hunter2|\n\s+at /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('makes bad CLI arguments exit 2', () => {
    const r = spawnSync(process.execPath, ['bin/tessera.js', 'start', '--port', 'x'], { encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--port/);
    const u = spawnSync(process.execPath, ['bin/tessera.js', 'frobnicate'], { encoding: 'utf8', timeout: 600_000 });
    assert.equal(u.status, 2);
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

/** A safety net only (a start that hangs must not hang the suite), far above what any of these takes. */
const SAFETY_NET_MS = 120_000;

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/tessera.js', 'start', ...args], {
      // No DATABASE_URL or port of the surrounding run leaks in unless a case sets it.
      env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', PORT: '', TESSERA_MTLS_PORT: '0', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const net = setTimeout(() => child.kill('SIGKILL'), SAFETY_NET_MS);
    child.once('exit', (code) => {
      clearTimeout(net);
      resolve({ code, stdout, stderr });
    });
  });
}

function listening(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

/** Exit 2 and one line on stderr matching each pattern; nothing started, so nothing on stdout. */
function assertOneLine(r: Exit, ...patterns: RegExp[]): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^tessera start: [^\n]+\n$/, 'one line on stderr');
  for (const p of patterns) assert.match(r.stderr, p);
}

describe('tessera start: a start-up failure is one line naming the cause and the setting, exit 2', () => {
  let dir: string;
  let busy: { server: Server; port: number };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-start-fail-'));
    busy = await listening();
  });
  after(() => {
    busy.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the HTTP port in use: names the port, PORT and --port', async () => {
    const r = await start(['--port', String(busy.port), '--data', join(dir, 'a')], {});
    assertOneLine(r, new RegExp(`port ${busy.port} on 127\\.0\\.0\\.1 is already in use`), /--port/, /PORT=/);
  });

  it('the merchant-validation port in use: names the port and TESSERA_MTLS_PORT', async () => {
    const r = await start(['--port', '0', '--data', join(dir, 'b')], { TESSERA_MTLS_PORT: String(busy.port) });
    assertOneLine(r, new RegExp(`merchant-validation \\(mutual TLS\\) port ${busy.port} .* already in use`), /TESSERA_MTLS_PORT=/);
  });

  it('the data folder not writable: names the folder, TESSERA_DATA_DIR and --data', async () => {
    // A folder under a file cannot be made (ENOTDIR), whoever runs the test (root ignores permission bits).
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const r = await start(['--port', '0', '--data', join(file, 'data')], {});
    assertOneLine(r, /the data folder .*a-file\/data is not writable \(ENOTDIR\)/, /--data/, /TESSERA_DATA_DIR/);
  });

  it('the database unreachable: names where (not the password) and DATABASE_URL', async () => {
    const closed = await listening();
    await new Promise((resolve) => closed.server.close(resolve));
    const r = await start(['--port', '0', '--data', join(dir, 'c')], { DATABASE_URL: `postgres://tessera:hunter2@127.0.0.1:${closed.port}/nowhere` });
    assertOneLine(r, new RegExp(`database at 127\\.0\\.0\\.1:${closed.port}/nowhere is not reachable \\(ECONNREFUSED\\)`), /DATABASE_URL/);
    assert.doesNotMatch(r.stderr, /hunter2/);
  });

  it('bad configuration: names the variable, not its value', async () => {
    const [format, level, same] = await Promise.all([
      start(['--port', '0', '--data', join(dir, 'd')], { LOG_FORMAT: 'xml' }),
      start(['--port', '0', '--data', join(dir, 'd')], { LOG_LEVEL: 'loud' }),
      start(['--port', String(busy.port + 1), '--data', join(dir, 'd')], { TESSERA_MTLS_PORT: String(busy.port + 1) }),
    ]);
    assertOneLine(format, /LOG_FORMAT must be json or pretty/);
    assert.doesNotMatch(format.stderr, /xml/);
    assertOneLine(level, /LOG_LEVEL/);
    assertOneLine(same, /PORT and TESSERA_MTLS_PORT are both/);
  });
});

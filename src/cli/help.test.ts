import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HELP, PROTOCOL_EXAMPLES } from './help.js';
import { main } from './main.js';

const BIN = fileURLToPath(new URL('../../bin/tessera.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tessera(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** An example line as the shell would split it (single-quoted JSON stays one word). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]!);
  assert.equal(out.shift(), 'tessera', line);
  return out;
}

const COMMANDS = ['start', 'tlv', 'iso8583', 'emv', 'scenario', 'bench', 'applepay'];

test('tessera --help lists every command on stdout (exit 0); no command: the same on stderr, exit 2', async () => {
  const [help, none, unknown] = await Promise.all([tessera(['--help']), tessera([]), tessera(['frobnicate'])]);
  assert.equal(help.code, 0);
  for (const c of COMMANDS) assert.match(help.stdout, new RegExp(`^  ${c}\\s+\\S`, 'm'), c);
  assert.deepEqual([none.code, none.stdout], [2, '']);
  assert.match(none.stderr, /commands:/);
  assert.deepEqual([unknown.code, unknown.stdout], [2, '']);
  assert.match(unknown.stderr, /^tessera: unknown command 'frobnicate' \(try 'tessera --help'\)\n$/);
});

/** main() in this process, its stdout and stderr captured (help never loads a command module). */
async function inProcess(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const write = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((chunk: string) => out.push(chunk) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(chunk) > 0) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
  }
}

test('every command and sub-command answers --help with its usage and an example, without running anything', async () => {
  const cases: { args: string[]; title: string }[] = [];
  for (const [name, entry] of Object.entries(HELP)) {
    cases.push({ args: [name, '--help'], title: `tessera ${name}:` });
    for (const sub of Object.keys(entry.subcommands ?? {})) {
      cases.push({ args: [name, sub, '--help'], title: `tessera ${name} ${sub}:` });
      cases.push({ args: [name, sub, '-h', '--bogus'], title: `tessera ${name} ${sub}:` });
    }
  }
  cases.push({ args: ['help', 'emv', 'verify'], title: 'tessera emv verify:' });
  assert.deepEqual(Object.keys(HELP).sort(), [...COMMANDS].sort());
  for (const { args, title } of cases) {
    const r = await inProcess(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', args.join(' '));
    assert.ok(r.stdout.startsWith(title), `${args.join(' ')} → ${r.stdout.slice(0, 60)}`);
    assert.match(r.stdout, /\nusage:\n {2}tessera /, args.join(' '));
    assert.match(r.stdout, /\nexamples?:\n {2}tessera \S+/, args.join(' '));
  }
  // The same through the real entry point, for the heaviest command (nothing of scenario.ts is needed).
  const real = await tessera(['scenario', 'tap', '--help']);
  assert.equal(real.code, 0, real.stderr);
  assert.ok(real.stdout.startsWith('tessera scenario tap:'));
});

test('the protocol commands\' examples work as printed (tlv, iso8583 decode and encode, emv keys, arqc, arpc, verify)', async () => {
  const lines = new Set<string>(Object.values(PROTOCOL_EXAMPLES));
  for (const name of ['tlv', 'iso8583', 'emv']) {
    for (const sub of Object.values(HELP[name]!.subcommands ?? {})) for (const x of sub.examples) if (!x.includes('--trace')) lines.add(x);
  }
  assert.ok(lines.size >= 7);
  const runs = await Promise.all([...lines].map((line) => tessera(words(line))));
  const outputs = new Map([...lines].map((line, i) => [line, runs[i]!]));
  for (const [line, r] of outputs) {
    assert.equal(r.code, 0, `${line}\n${r.stderr}`);
    assert.equal(r.stderr, '', line);
    assert.ok(r.stdout.trim().length > 0, line);
  }
  // The results are the vectors the examples were taken from.
  assert.equal(outputs.get(PROTOCOL_EXAMPLES.arqc)!.stdout, '7A788EA6B8A3E733\n');
  assert.equal(JSON.parse(outputs.get(PROTOCOL_EXAMPLES.tlv)!.stdout)[0].tag, '6F');
  assert.equal(JSON.parse(outputs.get(PROTOCOL_EXAMPLES.iso8583)!.stdout).fields['2'].value, '476173******0119');
  const verify = [...outputs].find(([line]) => line.startsWith('tessera emv verify'))!;
  assert.equal(verify[1].stdout, 'valid\n');
  // The README's copy-and-paste lines are these very examples.
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  for (const line of Object.values(PROTOCOL_EXAMPLES)) assert.ok(readme.includes(`\nnpx ${line}\n`), `README shows: npx ${line.slice(0, 40)}…`);
});

test('failures go to stderr, one line, exit 2 (a wrong flag of a light command)', async () => {
  const runs = await Promise.all([tessera(['tlv', 'decode']), tessera(['emv', 'arqc', '--bogus']), tessera(['start', '--bogus']), tessera(['start', '--port', 'x'])]);
  for (const r of runs) {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  }
});

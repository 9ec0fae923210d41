import { UsageError, CheckFailed, describeError } from './errors.js';
import { helpText, HELP, overview } from './help.js';
import { installNodeAes } from '../infra/node-aes.js';
import { ProtocolError } from '../protocol/errors.js';

/** A subcommand: gets the arguments after its name, returns the exit code. */
export type Command = (argv: string[]) => Promise<number>;

// Only the command that runs is loaded: `tessera tlv decode` and a wrong flag do not pay for the server.
const commands: Record<string, () => Promise<{ run: Command }>> = {
  start: () => import('./commands/start.js'),
  tlv: () => import('./commands/tlv.js'),
  iso8583: () => import('./commands/iso8583.js'),
  emv: () => import('./commands/emv.js'),
  scenario: () => import('./commands/scenario.js'),
  bench: () => import('./commands/bench.js'),
  applepay: () => import('./commands/applepay.js'),
};

const isHelp = (arg: string) => arg === '--help' || arg === '-h';

/** `--help` anywhere before a `--`: the help of the command, or of its sub-command when the first word names one. */
function wantsHelp(rest: string[]): boolean {
  const end = rest.indexOf('--');
  return (end < 0 ? rest : rest.slice(0, end)).some(isHelp);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(overview());
    return 2;
  }
  if (isHelp(name) || name === 'help') {
    const [topic, sub] = isHelp(name) ? [] : rest;
    if (topic === undefined) {
      process.stdout.write(overview());
      return 0;
    }
    const text = helpText(topic, sub);
    if (!text) {
      process.stderr.write(`tessera: unknown command '${topic}' (try 'tessera --help')\n`);
      return 2;
    }
    process.stdout.write(text);
    return 0;
  }
  const load = commands[name];
  if (!load || !HELP[name]) {
    process.stderr.write(`tessera: unknown command '${name}' (try 'tessera --help')\n`);
    return 2;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(helpText(name, rest.find((a) => !a.startsWith('-')))!);
    return 0;
  }
  installNodeAes();
  try {
    const mod = await load();
    return await mod.run(rest);
  } catch (err) {
    if (err instanceof CheckFailed) {
      process.stdout.write(`${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof UsageError || err instanceof ProtocolError) {
      process.stderr.write(`tessera ${name}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof Error && 'exitCode' in err && typeof err.exitCode === 'number') {
      process.stderr.write(`tessera ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    // Unexpected: what failed (party, call, code), secrets scrubbed, no stack trace; the whole error with TESSERA_DEBUG=1.
    process.stderr.write(`tessera ${name}: internal error: ${describeError(err)}\n`);
    if (process.env.TESSERA_DEBUG === '1') console.error(err);
    return 1;
  }
}

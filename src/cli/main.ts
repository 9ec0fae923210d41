import { UsageError, CheckFailed } from './errors.js';
import { installNodeAes } from '../infra/node-aes.js';
import { ProtocolError } from '../protocol/errors.js';

/** A subcommand: gets the arguments after its name, returns the exit code. */
export type Command = (argv: string[]) => Promise<number>;

// Loaded lazily so `tessera tlv decode` does not pay for the server's dependencies.
const commands: Record<string, { summary: string; load: () => Promise<{ run: Command }> }> = {
  start: { summary: 'run every server-side party in one process', load: () => import('./commands/start.js') },
  tlv: { summary: 'decode BER-TLV', load: () => import('./commands/tlv.js') },
  iso8583: { summary: 'encode and decode ISO 8583 messages', load: () => import('./commands/iso8583.js') },
  emv: { summary: 'EMV keys, ARQC, ARPC and verification', load: () => import('./commands/emv.js') },
  scenario: { summary: 'run a whole flow with simulated devices (provision, tap)', load: () => import('./commands/scenario.js') },
  bench: { summary: 'measure throughput and latency (tap)', load: () => import('./commands/bench.js') },
  applepay: { summary: 'decrypt and verify Apple Pay payment tokens', load: () => import('./commands/applepay.js') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: tessera <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  installNodeAes();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`tessera: unknown command '${name}' (try 'tessera --help')\n`);
    return 2;
  }
  try {
    const mod = await command.load();
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
    // Unexpected: say so without a stack trace (which could carry values); details with TESSERA_DEBUG=1.
    process.stderr.write(`tessera ${name}: internal error${err instanceof Error ? ` (${err.name})` : ''}\n`);
    if (process.env.TESSERA_DEBUG === '1') console.error(err);
    return 1;
  }
}

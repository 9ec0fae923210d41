/**
 * The help of every command and sub-command, in one place so `tessera <anything> --help` answers without
 * loading the command (scenario, bench, start and applepay pull in the whole server). Each entry has a
 * working example; src/cli/help.test.ts runs the protocol ones.
 */
export interface HelpEntry {
  summary: string;
  usage: string[];
  /** Options and notes, one line each. */
  details?: string[];
  examples: string[];
}

/** A command has its own usage, or sub-commands (whose usage lines make the command's). */
export type CommandHelp = (HelpEntry & { subcommands?: undefined }) | (Omit<HelpEntry, 'usage'> & { subcommands: Record<string, HelpEntry> });

// Real vectors (src/protocol/emv/test-vectors.ts, src/cli/commands/iso8583.test.ts): every example works as printed.
const PPSE_FCI = '6F1A840E325041592E5359532E4444463031A5088801025F2D02656E';
const ISO_0100 =
  '30313030F020040020808200000000000000000131363437363137333930303130313031313930303030303030303030303030303130303030303031323330373132343437363137333930303130313031313944323530323230315445524D303030313937383032365A0847617390010101199F2608CC297291B6D757E49F360203630102030405060708';
const EMV_CARD = '--imk 0123456789ABCDEFFEDCBA9876543210 --pan 1234567890123456 --psn 00';
const VISA18_ICC = '82021800950580000480009F02060000000040009F03060000000000009F1A0201245F2A0201249A031911059C01019F370452BF45859F3602001C9F100706011203A0B800';
const MC16_ICC = '82021800950580000000009F02060000000099999F03060000000000009F1A0201245F2A0201249A032099069C01009F3704ABCDEF129F3602001C9F100A0110A000032200000000';

/** The examples of the protocol commands, for the README and the test that runs them. */
export const PROTOCOL_EXAMPLES = {
  tlv: `tessera tlv decode ${PPSE_FCI}`,
  iso8583: `tessera iso8583 decode ${ISO_0100}`,
  arqc: `tessera emv arqc --cvn 18 ${EMV_CARD} --icc ${VISA18_ICC}`,
} as const;

const URL_NOTE = '--url URL      this running platform; --embedded a throwaway one in this process (default: the platform at http://127.0.0.1:8080 when it answers, else a throwaway one)';

export const HELP: Record<string, CommandHelp> = {
  start: {
    summary: 'run every server-side party in one process (API, web apps, sandbox)',
    usage: ['tessera start [--port N] [--host ADDRESS] [--data DIR]'],
    details: [
      '--port N       the HTTP port (PORT, default 8080; 0 = any free port)',
      '--host ADDR    the address to listen on (HOST, default 127.0.0.1)',
      '--data DIR     the data folder: embedded database, key-encryption key, admin key (TESSERA_DATA_DIR, default ./data)',
      'Other settings come from the environment (README: Configuration): DATABASE_URL, REDIS_URL, TESSERA_MTLS_PORT,',
      'LOG_LEVEL (default warn in a terminal, info otherwise), LOG_FORMAT (pretty in a terminal, json otherwise).',
      'Start-up failures (a port in use, a data folder it cannot write, a database it cannot reach) exit 2 with one line.',
    ],
    examples: ['tessera start --port 8080 --data ./data', 'LOG_LEVEL=info LOG_FORMAT=json tessera start --port 0'],
  },
  tlv: {
    summary: 'decode BER-TLV (EMV data objects) into JSON with tag names',
    examples: [PROTOCOL_EXAMPLES.tlv],
    subcommands: {
      decode: {
        summary: 'decode BER-TLV hex (spaces allowed) into its data objects, constructed ones with their children',
        usage: ['tessera tlv decode <hex>'],
        examples: [PROTOCOL_EXAMPLES.tlv],
      },
    },
  },
  iso8583: {
    summary: "encode and decode ISO 8583 messages (Tessera's wire profile), each field with its name",
    examples: [PROTOCOL_EXAMPLES.iso8583, 'tessera iso8583 decode --trace trace.jsonl', `tessera iso8583 encode '{"mti":"0800","fields":{"7":"1207213000","11":"000001","70":"301"}}'`],
    subcommands: {
      decode: {
        summary: 'decode a message: MTI and each field with its number, name and value',
        usage: ['tessera iso8583 decode <hex> [--unmasked]', 'tessera iso8583 decode --trace FILE [--unmasked]'],
        details: [
          '--trace FILE   decode every ISO 8583 message of a `tessera scenario … --trace FILE` file (JSON Lines), with who sent it',
          '               to whom; digits the trace masked stay masked (*)',
          '--unmasked     show card numbers, track data and sensitive DE 55 tags in clear (masked by default)',
        ],
        examples: [PROTOCOL_EXAMPLES.iso8583, 'tessera scenario tap --trace tap.jsonl && tessera iso8583 decode --trace tap.jsonl'],
      },
      encode: {
        summary: 'pack a message given as JSON {"mti": ..., "fields": {"<n>": "<value>"}} (binary fields as hex); prints hex',
        usage: ['tessera iso8583 encode <json>'],
        details: ['Accepts what `decode --unmasked` prints (field values as strings or as {"name", "value"} objects).'],
        examples: [`tessera iso8583 encode '{"mti":"0800","fields":{"7":"1207213000","11":"000001","70":"301"}}'`],
      },
    },
  },
  emv: {
    summary: 'EMV card keys, application cryptograms (ARQC), responses (ARPC) and their verification',
    details: ["CVNs: 10, 16, 17, 18, 20, 22 (3DES) and A1, D1 (Tessera's AES cryptograms for American Express and Discover)."],
    examples: [PROTOCOL_EXAMPLES.arqc],
    subcommands: {
      keys: {
        summary: 'derive the ICC master key (option A) and, with --atc and --cvn, the session key; with key check values',
        usage: [`tessera emv keys --imk <32 hex> --pan <digits> --psn <2 digits> [--atc <4 hex> --cvn <N> [--un <8 hex>]]`],
        details: ['--un           the unpredictable number, for CVN 16 and 17 session keys'],
        examples: [`tessera emv keys ${EMV_CARD} --atc 001C --cvn 18`],
      },
      arqc: {
        summary: 'compute the ARQC over the card data objects in --icc (BER-TLV: amount, country, TVR, date, type, UN, AIP, ATC, IAD)',
        usage: ['tessera emv arqc --cvn <N> --imk <32 hex> --pan <digits> --psn <2 digits> --icc <BER-TLV hex>'],
        examples: [PROTOCOL_EXAMPLES.arqc],
      },
      arpc: {
        summary: "compute the issuer's response cryptogram (ARPC) for an ARQC",
        usage: ['tessera emv arpc --cvn <N> --imk <32 hex> --pan <digits> --psn <2 digits> --icc <hex> --arqc <16 hex> --arc <4 hex> [--csu <8 hex>] [--prop <2-16 hex>]'],
        details: ['--arqc         the cryptogram (default: tag 9F26 in --icc)', '--arc / --csu  the response code (method 1) / card status update (method 2: CVN 18, 22, A1, D1)'],
        examples: [`tessera emv arpc --cvn 16 ${EMV_CARD} --icc ${MC16_ICC} --arqc 24CCF3DEE3158C70 --arc 0010`],
      },
      verify: {
        summary: 'check the cryptogram in tag 9F26 of --icc: prints valid (exit 0) or invalid (exit 1)',
        usage: ['tessera emv verify --cvn <N> --imk <32 hex> --pan <digits> --psn <2 digits> --icc <BER-TLV hex with 9F26>'],
        examples: [`tessera emv verify --cvn 18 ${EMV_CARD} --icc ${VISA18_ICC}9F26087A788EA6B8A3E733`],
      },
    },
  },
  scenario: {
    summary: 'run a whole flow with simulated devices: provision, tap, lost-device, reissue',
    examples: ['tessera scenario tap --network mastercard --amount 4.20'],
    subcommands: {
      provision: {
        summary: 'add a card to a simulated phone: sign-up, device registration, card verification, token, keys in the Secure Element',
        usage: ['tessera scenario provision [--network N] [--card NUMBER] [--yellow] [--url URL | --embedded] [--trace FILE]'],
        details: [
          '--network N    visa, mastercard, amex or discover',
          '--card NUMBER  a sandbox test card (GET /sandbox/v1 lists them)',
          '--yellow       a card the issuer wants verified with a one-time code',
          URL_NOTE,
          '--trace FILE   write every message between the parties as JSON Lines',
        ],
        examples: ['tessera scenario provision --network amex --yellow --trace trace.jsonl'],
      },
      tap: {
        summary: "provision a card, then tap the phone on a sandbox terminal: the authorization through acquirer, network and issuer",
        usage: ['tessera scenario tap [--network N] [--card NUMBER] [--amount 12.34] [--currency USD] [--url URL | --embedded] [--trace FILE] [--replay]'],
        details: ['--replay       send the same cryptogram again: the network declines the replay', URL_NOTE, '--trace FILE   write every message between the parties as JSON Lines'],
        examples: ['tessera scenario tap --network mastercard --amount 4.20 --replay --trace tap.jsonl'],
      },
      'lost-device': {
        summary: 'taps approved, the device reported lost (its tokens suspended), taps declined',
        usage: ['tessera scenario lost-device [--network N] [--amount 12.34] [--url URL | --embedded] [--trace FILE]'],
        details: [URL_NOTE],
        examples: ['tessera scenario lost-device --network visa'],
      },
      reissue: {
        summary: 'the issuer reissues the card: the same token keeps paying, the wallet shows the new last four digits',
        usage: ['tessera scenario reissue [--network N] [--amount 12.34] [--url URL | --embedded] [--trace FILE]'],
        details: [URL_NOTE],
        examples: ['tessera scenario reissue --network visa --trace reissue.jsonl'],
      },
    },
  },
  bench: {
    summary: 'measure throughput and latency: contactless taps or in-app payments, closed loop',
    examples: ['tessera bench tap --duration 5'],
    subcommands: {
      tap: {
        summary: 'taps per second and their latency through every party (in-process, or a running platform with --url)',
        usage: ['tessera bench tap [--url URL] [--duration S] [--concurrency C] [--expected-rps N] [--live]'],
        details: [
          '--url URL      a running platform (operator key in TESSERA_ADMIN_KEY); default: an in-process one',
          '--duration S   measured seconds (default 10); --concurrency C taps in flight (default 32)',
          '--live         each tap made on the spot instead of prepared before the run',
        ],
        examples: ['tessera bench tap --duration 5 --concurrency 16'],
      },
      inapp: {
        summary: 'in-app payments end to end (docs/inapp.md): merchant validation, payment token, authorization',
        usage: ['tessera bench inapp [--url URL] [--validation-url URL] [--duration S] [--concurrency C] [--expected-rps N]'],
        examples: ['tessera bench inapp --duration 5'],
      },
    },
  },
  applepay: {
    summary: 'make and decrypt Apple Pay payment tokens (PKPaymentToken), the platform\'s or real ones',
    examples: ['tessera applepay token --out ./tok', 'tessera applepay decrypt --token tok/token.json --cert tok/merchant-cert.pem --key tok/merchant-key.pem --root tok/root-ca.pem'],
    subcommands: {
      token: {
        summary: 'run an in-app payment with a simulated device and write the token and the merchant\'s keys (docs/inapp.md)',
        usage: ['tessera applepay token --out DIR [--merchant-id ID] [--amount 10.00] [--currency USD] [--network visa|mastercard|amex|discover] [--rsa] [--url URL] [--validation-url URL]'],
        details: [
          'Against a throwaway embedded platform, or a running one with --url (operator key in TESSERA_ADMIN_KEY; merchant',
          'validation at --validation-url, default https://<url host>:<TESSERA_MTLS_PORT>/paymentservices/startSession).',
          'Writes DIR/token.json, DIR/merchant-cert.pem, DIR/merchant-key.pem (RSA with --rsa: an RSA_v1 token) and DIR/root-ca.pem.',
        ],
        examples: ['tessera applepay token --out ./tok --network visa'],
      },
      decrypt: {
        summary: 'verify a payment token and print its decrypted payload: exit 0 valid, 1 rejected (one line naming the reason)',
        usage: ['tessera applepay decrypt --token FILE --cert PEM --key PEM [--root PEM] [--at ISO-8601] [--merchant-id ID]'],
        details: [
          '--token FILE   a PKPaymentToken or bare paymentData, JSON ("-" = stdin)',
          '--cert/--key   the merchant payment-processing certificate and its key (repeat both for several, e.g. a rotation)',
          "--root PEM     trusted roots (repeatable); default <data dir>/pki/root-ca.pem, the platform's; Apple Root CA - G3 for real tokens",
          '--at           the verification time (certificate validity and the 5-minute signingTime window)',
          '--merchant-id  check that the certificate is for this merchant identifier',
        ],
        examples: ['tessera applepay decrypt --token tok/token.json --cert tok/merchant-cert.pem --key tok/merchant-key.pem --root tok/root-ca.pem'],
      },
    },
  },
};

function entryText(title: string, e: Omit<HelpEntry, 'usage'>, usage: string[], subcommands?: Record<string, HelpEntry>): string {
  const lines = [`${title}: ${e.summary}`, '', 'usage:', ...usage.map((u) => `  ${u}`)];
  if (subcommands) {
    const width = Math.max(...Object.keys(subcommands).map((k) => k.length));
    lines.push('', 'sub-commands:', ...Object.entries(subcommands).map(([name, s]) => `  ${name.padEnd(width)}  ${s.summary}`));
  }
  if (e.details?.length) lines.push('', ...e.details.map((d) => `  ${d}`));
  lines.push('', e.examples.length > 1 ? 'examples:' : 'example:', ...e.examples.map((x) => `  ${x}`));
  return `${lines.join('\n')}\n`;
}

/** `tessera --help`: every command, then where to find more. */
export function overview(): string {
  const width = Math.max(...Object.keys(HELP).map((k) => k.length));
  return [
    'usage: tessera <command> [sub-command] [options]',
    '',
    'commands:',
    ...Object.entries(HELP).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Each command and sub-command has --help with an example, e.g. tessera iso8583 decode --help.',
    'Bad arguments: one line on stderr, exit code 2.',
    '',
  ].join('\n');
}

/** The help of a command, or of one of its sub-commands when `sub` names one. */
export function helpText(command: string, sub?: string): string | undefined {
  const c = HELP[command];
  if (!c) return undefined;
  const s = sub !== undefined ? c.subcommands?.[sub] : undefined;
  if (s) return entryText(`tessera ${command} ${sub}`, s, s.usage);
  // A command with sub-commands shows each one's usage: the whole command at a glance.
  return c.subcommands ? entryText(`tessera ${command}`, c, Object.values(c.subcommands).flatMap((x) => x.usage), c.subcommands) : entryText(`tessera ${command}`, c, c.usage);
}

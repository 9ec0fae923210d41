import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/**
 * The second layer against leaks (the first is the Secret type): any field with one of these names is
 * replaced before a line is written, wherever it sits in the first levels of the object.
 */
const SENSITIVE = ['pan', 'card_number', 'cardNumber', 'cvv', 'cvc', 'password', 'secret', 'token_keys', 'key', 'privateKey', 'private_key', 'kek', 'otp', 'code_plain', 'track2', 'authorization'];
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  ...SENSITIVE,
  ...SENSITIVE.map((k) => `*.${k}`),
  ...SENSITIVE.map((k) => `*.*.${k}`),
];

/**
 * The level and format of a process's own log when LOG_LEVEL / LOG_FORMAT leave them open: a person at a
 * terminal gets human-readable lines and only warnings and errors; anything else (a pipe, a file, a log
 * collector) gets one JSON object a line from `info` on.
 */
export function logSettings(config: { logLevel?: string | undefined; logFormat?: LogFormat | undefined }, isTTY: boolean): { level: string; format: LogFormat } {
  return { level: config.logLevel ?? (isTTY ? 'warn' : 'info'), format: config.logFormat ?? (isTTY ? 'pretty' : 'json') };
}

/** Human-readable lines (time, level, message, then the fields on the same line), to stdout or `destination`. */
function prettyStream(destination: pino.DestinationStream | undefined): pino.DestinationStream {
  return pretty({
    colorize: destination === undefined && process.stdout.isTTY === true,
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service',
    ...(destination ? { destination: destination as NodeJS.WritableStream } : {}),
  });
}

export function createLogger(options: { level: string; destination?: pino.DestinationStream; name?: string; format?: LogFormat }): Logger {
  const opts: pino.LoggerOptions = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: options.name ?? 'tessera' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: {
      err: pino.stdSerializers.err,
    },
  };
  // The same redaction runs before either format: pretty only changes how a line looks.
  if (options.format === 'pretty') return pino(opts, prettyStream(options.destination));
  // Synchronous like the pretty stream: a line logged before a write to stdout (the start banner) is printed before it.
  return pino(opts, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

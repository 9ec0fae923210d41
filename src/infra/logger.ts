import pino, { type Logger } from 'pino';

export type { Logger };

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

export function createLogger(options: { level: string; destination?: pino.DestinationStream; name?: string }): Logger {
  const opts: pino.LoggerOptions = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: options.name ?? 'tessera' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: {
      err: pino.stdSerializers.err,
    },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

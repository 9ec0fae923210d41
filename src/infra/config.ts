import { z } from 'zod';

/** A configuration value that is wrong: the CLI prints the message (which names the variable) and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = 2;
}

const base64Key = z
  .string()
  .refine((v) => {
    try {
      return Buffer.from(v, 'base64').length === 32 && /^[A-Za-z0-9+/=_-]+$/.test(v);
    } catch {
      return false;
    }
  }, 'must be 32 bytes, base64');

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  TESSERA_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Unset: `warn` when the log goes to a terminal, `info` otherwise (see src/infra/logger.ts). */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be one of fatal, error, warn, info, debug, trace, silent' }).optional(),
  /** Unset: `pretty` (human-readable) when the log goes to a terminal, `json` (one object a line) otherwise. */
  LOG_FORMAT: z.enum(['json', 'pretty'], { message: 'must be json or pretty' }).optional(),
  /** Key-encryption key for data keys at rest; the sandbox makes one in the data folder when unset. */
  TESSERA_KEK: base64Key.optional(),
  /** Sets the operator's admin API key instead of generating one on first start. */
  TESSERA_ADMIN_KEY: z.string().regex(/^tsk_admin_[0-9A-Za-z]{32,}$/, 'must look like tsk_admin_<32+ base62>').optional(),
  TESSERA_PUBLIC_URL: z.string().url().optional(),
  /** Multiplies every rate limit (0 turns them off: load tests and scripted sandboxes). */
  TESSERA_RATE_LIMIT_FACTOR: z.coerce.number().min(0).max(1000).default(1),
  /** The merchant-validation listener (HTTPS, mutual TLS); 0 = any free port. */
  TESSERA_MTLS_PORT: z.coerce.number().int().min(0).max(65535).default(8443),
  /** The sandbox seed (demo user, public GET /sandbox/v1 with test cards and terminal keys); on unless 0/false/off. */
  TESSERA_SANDBOX: z.enum(['1', 'true', 'on', 'yes', '0', 'false', 'off', 'no'], { message: 'must be 1/true/on or 0/false/off' }).default('1'),
  /** How many traced messages the operations console keeps in memory (0 turns the in-memory trace off). */
  TESSERA_TRACE_BUFFER: z.coerce.number().int().min(0).max(1_000_000).default(5000),
});

export type Config = Readonly<{
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  redisUrl: string | undefined;
  /** As set; undefined lets the logger choose by where its output goes. */
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  logFormat: z.infer<typeof schema>['LOG_FORMAT'];
  kek: string | undefined;
  adminKey: string | undefined;
  publicUrl: string | undefined;
  rateLimitFactor: number;
  mtlsPort: number;
  sandbox: boolean;
  traceBuffer: number;
}>;

/**
 * Parses the environment once into a frozen object. Empty strings count as unset, so
 * `DATABASE_URL= npm test` means "embedded".
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Record<keyof z.infer<typeof schema>, string>> = {}): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = overrides[key as keyof typeof overrides] ?? env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'configuration');
    // Never echo the value: a URL can carry a password, a key is a key.
    throw new ConfigError(`invalid configuration: ${name} ${issue.message.toLowerCase()}`);
  }
  const c = parsed.data;
  return Object.freeze({
    port: c.PORT,
    host: c.HOST,
    dataDir: c.TESSERA_DATA_DIR,
    databaseUrl: c.DATABASE_URL,
    databasePoolSize: c.DATABASE_POOL_SIZE,
    redisUrl: c.REDIS_URL,
    logLevel: c.LOG_LEVEL,
    logFormat: c.LOG_FORMAT,
    kek: c.TESSERA_KEK,
    adminKey: c.TESSERA_ADMIN_KEY,
    publicUrl: c.TESSERA_PUBLIC_URL,
    rateLimitFactor: c.TESSERA_RATE_LIMIT_FACTOR,
    mtlsPort: c.TESSERA_MTLS_PORT,
    sandbox: ['1', 'true', 'on', 'yes'].includes(c.TESSERA_SANDBOX),
    traceBuffer: c.TESSERA_TRACE_BUFFER,
  });
}

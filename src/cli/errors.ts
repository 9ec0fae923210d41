/** Bad arguments or bad input on the command line: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A check that ran and said no (e.g. `emv verify` → invalid): its own exit code, message on stdout. */
export class CheckFailed extends Error {
  override readonly name = 'CheckFailed';
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/**
 * `tessera start` cannot start with these settings (a port in use, a data folder it cannot write, a database
 * it cannot reach): one line on stderr naming the cause and the setting to change, exit code 2.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  readonly exitCode = 2;
}

/**
 * What must never reach a terminal from an error message: card numbers (12-19 digit runs), API keys and
 * session tokens, passwords in URLs, and long hex strings (key material).
 */
export function scrubMessage(message: string): string {
  return message
    .replace(/\b\d{12,19}\b/g, '[number]')
    .replace(/\b(tss|tsk_[a-z]+)_[0-9A-Za-z]{8,}/g, '$1_…')
    .replace(/(\/\/[^/\s:@]*):[^/\s@]*@/g, '$1:***@')
    .replace(/\b[0-9A-Fa-f]{32,}\b/g, '[hex]');
}

type Described = Error & { party?: unknown; route?: unknown; status?: unknown; code?: unknown; syscall?: unknown; address?: unknown; port?: unknown };

function facts(err: Described): string[] {
  const out: string[] = [];
  if (typeof err.party === 'string') out.push(`party ${err.party}`);
  if (typeof err.route === 'string') out.push(`call ${err.route}`);
  if (typeof err.status === 'number') out.push(`status ${err.status}`);
  if (typeof err.code === 'string' || typeof err.code === 'number') out.push(`code ${err.code}`);
  if (typeof err.syscall === 'string') {
    const where = typeof err.address === 'string' ? ` ${err.address}${typeof err.port === 'number' ? `:${err.port}` : ''}` : '';
    out.push(`${err.syscall}${where}`);
  }
  return out;
}

/**
 * One line for an unexpected error: its kind, what failed (the party, the call, the error code, the system
 * call) and its first message line with secrets scrubbed; the cause's kind and code when there is one.
 * E.g. `PartyError (party issuer:iss_visa, call POST /issuer/iss_visa/v1/cards, status 409, code busy_retry): …`.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return `a ${typeof err} was thrown`;
  const e = err as Described;
  const known = facts(e);
  const head = known.length > 0 ? `${e.name} (${known.join(', ')})` : e.name;
  const message = scrubMessage((e.message ?? '').split('\n')[0]!.trim());
  let line = message ? `${head}: ${message}` : head;
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const causeFacts = facts(cause as Described);
    line += `; cause: ${cause.name}${causeFacts.length > 0 ? ` (${causeFacts.join(', ')})` : ''}${cause.message ? `: ${scrubMessage(cause.message.split('\n')[0]!)}` : ''}`;
  }
  return line;
}

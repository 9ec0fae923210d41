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

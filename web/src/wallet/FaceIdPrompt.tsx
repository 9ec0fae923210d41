import { useId, useState } from 'react';
import type { AuthorizationMethod, AuthorizeResult } from '../../../src/device/secure-enclave.js';
import { errorText } from '../shared/format';

type Failure = Extract<AuthorizeResult, { ok: false }>;

/**
 * The simulated Face ID sheet: the Secure Enclave decides (counted failures, passcode offered after 2
 * misses, required after 5, locked after 10 wrong passcodes); this only offers what it allows.
 */
export function FaceIdPrompt(props: {
  /** The enrolled biometric; null on a passcode-only device. */
  biometric: 'face' | 'finger' | null;
  /** The enclave's state before the first attempt. */
  initial: { passcodeOffered: boolean; passcodeRequired: boolean; locked: boolean };
  /** Runs one attempt; answers the enclave's failure, or null on success. */
  attempt: (method: AuthorizationMethod) => Promise<Failure | null>;
  busyText?: string;
}) {
  const [failure, setFailure] = useState<Failure | null>(null);
  const [busy, setBusy] = useState(false);
  const [passcode, setPasscode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const passcodeId = useId();
  const offered = failure?.passcodeOffered ?? props.initial.passcodeOffered;
  const required = failure?.passcodeRequired ?? props.initial.passcodeRequired;
  const locked = failure?.locked ?? props.initial.locked;
  const biometricAllowed = props.biometric !== null && !required && !locked;
  const showPasscode = !locked && (props.biometric === null || offered || required);

  const run = async (method: AuthorizationMethod) => {
    setBusy(true);
    setError(null);
    try {
      const f = await props.attempt(method);
      setFailure(f);
      if (f) setPasscode('');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  let status = props.biometric === 'face' ? 'Look at your phone to confirm with Face ID.' : props.biometric === 'finger' ? 'Touch the sensor to confirm.' : 'Enter your passcode to confirm.';
  if (failure?.reason === 'biometric_no_match') status = 'Face ID not recognised. Try again.';
  if (failure?.reason === 'passcode_incorrect') status = `Wrong passcode.${failure.attemptsLeft !== undefined ? ` ${failure.attemptsLeft} attempts left.` : ''}`;
  if (required && !locked) status = 'Your passcode is required.';
  if (locked) status = 'This wallet is locked: too many wrong passcodes.';
  if (busy) status = props.busyText ?? 'Checking…';

  return (
    <div className="faceid">
      <div className={`faceid-glyph${busy ? ' busy' : ''}${failure ? ' failed' : ''}`} aria-hidden="true">
        {props.biometric === 'face' ? '◉' : '⌘'}
      </div>
      <p className="faceid-status" role="status" aria-live="polite">
        {status}
      </p>
      {biometricAllowed && (
        <div className="button-row" role="group" aria-label="Simulated Face ID">
          <button type="button" className="primary" disabled={busy} onClick={() => void run({ biometric: 'match' })}>
            Face ID: match
          </button>
          <button type="button" disabled={busy} onClick={() => void run({ biometric: 'no_match' })}>
            Face ID: no match
          </button>
        </div>
      )}
      {showPasscode && (
        <form
          className="passcode"
          onSubmit={(e) => {
            e.preventDefault();
            if (passcode.length > 0) void run({ passcode });
          }}
        >
          <label htmlFor={passcodeId}>Passcode</label>
          <input id={passcodeId} type="password" inputMode="numeric" autoComplete="off" value={passcode} onChange={(e) => setPasscode(e.target.value)} disabled={busy} />
          <button type="submit" disabled={busy || passcode.length === 0}>
            Use passcode
          </button>
        </form>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { isNoAnswer } from '../../../src/device/platform-api.js';
import { errorCode, errorStatus, errorText } from '../shared/format';
import { sandboxOverview, type SandboxOverview } from '../shared/platform';
import { markStep } from '../shared/progress';
import { loadDevice, saveSession, setUpAndRegister, signIn, signUp, wipe, type BrowserDevice, type DeviceKind } from './device';
import { WalletHome } from './WalletHome';

const KIND_KEY = 'tessera-wallet-kind';

/** /wallet: this browser as a phone (or a watch) with Tessera Pay. */
export default function WalletPage() {
  const [kind, setKind] = useState<DeviceKind>(() => (localStorage.getItem(KIND_KEY) === 'watch' ? 'watch' : 'phone'));
  const [device, setDevice] = useState<BrowserDevice | null>(null);
  const [sandbox, setSandbox] = useState<SandboxOverview | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [, setVersion] = useState(0);
  const rerender = () => setVersion((v) => v + 1);

  useEffect(() => {
    void sandboxOverview().then(setSandbox);
  }, []);

  useEffect(() => {
    let live = true;
    setDevice(null);
    loadDevice(kind).then(
      (d) => live && setDevice(d),
      (err) => live && setLoadError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [kind]);

  const switchKind = (k: DeviceKind) => {
    localStorage.setItem(KIND_KEY, k);
    setNotice(null);
    setKind(k);
  };

  /** The platform refused the session (signed out elsewhere, expired, or this device was reported lost). */
  const sessionEnded = useCallback(async () => {
    if (!device) return;
    await saveSession(device, null);
    setNotice('Sign in again to use your wallet.');
    rerender();
  }, [device]);

  const deviceLabel = kind === 'phone' ? 'iPhone' : 'Watch';
  let body;
  if (loadError) {
    body = (
      <p className="error" role="alert">
        This browser cannot keep a wallet: {loadError}
      </p>
    );
  } else if (!device) {
    body = <p role="status">Opening the wallet…</p>;
  } else if (!device.session) {
    body = (
      <AuthScreen
        device={device}
        sandbox={sandbox}
        notice={notice}
        onSignedIn={() => {
          setNotice(null);
          rerender();
        }}
      />
    );
  } else if (!device.deviceId || !device.session.deviceBound) {
    body = <SetupScreen device={device} label={deviceLabel} onDone={rerender} onSignOut={async () => { await saveSession(device, null); rerender(); }} />;
  } else {
    body = (
      <WalletHome
        key={`${device.kind}:${device.session.token}`}
        device={device}
        sandbox={sandbox}
        onSessionEnded={() => void sessionEnded()}
        onSignedOut={async () => {
          await saveSession(device, null);
          rerender();
        }}
        onErased={async () => {
          await wipe(device);
          setNotice('This device was erased.');
          setDevice(await loadDevice(kind));
        }}
      />
    );
  }

  return (
    <div className="wallet-app">
      <header className="topbar">
        <h1>
          <span aria-hidden="true"> </span>Tessera Wallet
        </h1>
        <div className="kind-switch" role="group" aria-label="This browser is a">
          {(['phone', 'watch'] as const).map((k) => (
            <button key={k} type="button" aria-pressed={kind === k} className={kind === k ? 'on' : ''} onClick={() => switchKind(k)}>
              {k === 'phone' ? 'iPhone' : 'Watch'}
            </button>
          ))}
        </div>
      </header>
      <main className="page narrow">{body}</main>
    </div>
  );
}

/** The platform's minimum (src/platform/schemas.ts Password): checked here first to say it in a sentence. */
const MIN_PASSWORD = 10;

/** What the platform refused, in a sentence for a person (its validation messages name JSON fields). */
function signUpErrorText(err: unknown): string {
  const code = errorCode(err);
  const param = err && typeof err === 'object' ? (err as { body?: { error?: { param?: unknown } } }).body?.error?.param : undefined;
  if (code === 'email_taken') return 'An account with this e-mail already exists: choose "I have an account" to sign in.';
  if (code === 'parameter_invalid') {
    const field = typeof param === 'string' ? param.replace(/^\/?(body\/)?/, '') : '';
    if (field.includes('password')) return `Choose a password of at least ${MIN_PASSWORD} characters.`;
    if (field.includes('email')) return 'Enter an e-mail address such as ada@example.com.';
    if (field.includes('name')) return 'Enter your name.';
  }
  if (errorStatus(err) === 429) return 'Too many attempts from this browser: wait a minute and try again.';
  return errorText(err);
}

function AuthScreen(props: { device: BrowserDevice; sandbox: SandboxOverview | null; notice: string | null; onSignedIn: () => void }) {
  // A device already set up here most likely belongs to an account: offer sign-in first.
  const [mode, setMode] = useState<'signin' | 'signup'>(props.device.deviceId ? 'signin' : 'signup');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { email: useId(), password: useId(), name: useId() };

  const go = async (creds?: { email: string; password: string }) => {
    setBusy(true);
    setError(null);
    const e = (creds?.email ?? email).trim();
    const p = creds?.password ?? password;
    try {
      if (mode === 'signup' && !creds) {
        if (p.length < MIN_PASSWORD) throw new Error(`Choose a password of at least ${MIN_PASSWORD} characters (yours has ${p.length}).`);
        const token = await signUp({ email: e, password: p, name: name.trim() });
        await saveSession(props.device, { token, email: e, deviceBound: false });
      } else {
        // A device already registered here signs in bound to it; its status decides whether that works.
        let result;
        try {
          result = await signIn({ email: e, password: p, ...(props.device.deviceId ? { device_id: props.device.deviceId } : {}) });
        } catch (err) {
          if (!props.device.deviceId || isNoAnswer(err) || errorCode(err) === 'sign_in_failed') throw err;
          throw new Error(`This ${props.device.kind} cannot sign in (${errorText(err)}) — it may have been reported lost or erased.`);
        }
        await saveSession(props.device, { token: result.token, email: e, deviceBound: result.deviceBound });
      }
      markStep('signed_up');
      props.onSignedIn();
    } catch (err) {
      setError(signUpErrorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="auth-title">
      <h2 id="auth-title">{mode === 'signup' ? 'Create your account' : 'Sign in'}</h2>
      {props.notice && (
        <p className="notice" role="status">
          {props.notice}
        </p>
      )}
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          void go();
        }}
      >
        {mode === 'signup' && (
          <>
            <label htmlFor={ids.name}>Name</label>
            <input id={ids.name} autoComplete="name" value={name} onChange={(ev) => setName(ev.target.value)} required />
          </>
        )}
        <label htmlFor={ids.email}>E-mail</label>
        <input id={ids.email} type="email" autoComplete="email" value={email} onChange={(ev) => setEmail(ev.target.value)} required />
        <label htmlFor={ids.password}>Password</label>
        <input
          id={ids.password}
          type="password"
          autoComplete={mode === 'signup' ? 'new-password' : 'current-password'}
          value={password}
          onChange={(ev) => setPassword(ev.target.value)}
          required
          {...(mode === 'signup' ? { 'aria-describedby': `${ids.password}-hint` } : {})}
        />
        {mode === 'signup' && (
          <p id={`${ids.password}-hint`} className="hint">
            At least {MIN_PASSWORD} characters.
          </p>
        )}
        <div className="button-row">
          <button type="submit" className="primary" disabled={busy}>
            {mode === 'signup' ? 'Sign up' : 'Sign in'}
          </button>
          <button type="button" className="link" onClick={() => setMode(mode === 'signup' ? 'signin' : 'signup')}>
            {mode === 'signup' ? 'I have an account' : 'Create an account'}
          </button>
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
      {props.sandbox && (
        <p className="hint">
          Sandbox demo user: {props.sandbox.demoUser.email}{' '}
          <button type="button" className="link" disabled={busy} onClick={() => void go(props.sandbox!.demoUser)}>
            Sign in as the demo user
          </button>
        </p>
      )}
    </section>
  );
}

function SetupScreen(props: { device: BrowserDevice; label: string; onDone: () => void; onSignOut: () => void }) {
  const [name, setName] = useState(props.device.deviceName ?? `My ${props.label}`);
  const [passcode, setPasscode] = useState('');
  const [faceId, setFaceId] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { name: useId(), passcode: useId(), face: useId() };
  const ready = useRef(props.device.chips !== null);

  return (
    <section className="panel" aria-labelledby="setup-title">
      <h2 id="setup-title">Set up this browser as your {props.label}</h2>
      <p>
        Its Secure Element makes a key pair that never leaves this browser (a non-extractable WebCrypto key kept in IndexedDB); the platform&apos;s device CA
        certifies its public key.
      </p>
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          setBusy(true);
          setError(null);
          setUpAndRegister(props.device, { name: name.trim(), passcode, faceId, userToken: props.device.session!.token })
            .then(() => {
              markStep('phone_registered');
              props.onDone();
            }, (err) => {
              setError(errorStatus(err) === 401 ? 'Your session ended; sign in again.' : errorText(err));
              ready.current = props.device.chips !== null;
            })
            .finally(() => setBusy(false));
        }}
      >
        <label htmlFor={ids.name}>Device name</label>
        <input id={ids.name} value={name} onChange={(ev) => setName(ev.target.value)} required maxLength={100} />
        {!ready.current && (
          <>
            <label htmlFor={ids.passcode}>Device passcode (4 or more characters)</label>
            <input id={ids.passcode} type="password" inputMode="numeric" autoComplete="new-password" minLength={4} maxLength={64} value={passcode} onChange={(ev) => setPasscode(ev.target.value)} required />
            <label className="check" htmlFor={ids.face}>
              <input id={ids.face} type="checkbox" checked={faceId} onChange={(ev) => setFaceId(ev.target.checked)} /> Enrol Face ID (simulated)
            </label>
          </>
        )}
        <div className="button-row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Registering…' : `Register this ${props.label}`}
          </button>
          <button type="button" className="link" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../protocol/bytes.js';
import { DeviceError } from './errors.js';
import { TEST_CERT_PEM, dumpStorage } from './fixtures.test-helper.js';
import { createPairingKey, type Authorization } from './pairing.js';
import { SecureElement } from './secure-element.js';
import { SecureEnclave, type AuthorizeResult, type BiometricKind } from './secure-enclave.js';
import { openDevice, setupDevice } from './setup.js';
import { MemoryStorage } from './storage.js';

const PASSCODE = '482916';
const ITERATIONS = 1_000;
const challenge = fromHex('A1B2C3D4');

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<DeviceError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DeviceError, `expected DeviceError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

async function device(biometric: BiometricKind | null = 'face', start = 1_750_000_000_000) {
  const clock = { now: start };
  const storage = new MemoryStorage();
  const chips = await setupDevice(storage, { biometric, passcode: PASSCODE, clock: () => clock.now, passcodeIterations: ITERATIONS });
  return { ...chips, storage, clock };
}

function failure(result: AuthorizeResult) {
  assert.equal(result.ok, false);
  return result as Extract<AuthorizeResult, { ok: false }>;
}

function success(result: AuthorizeResult): Authorization {
  assert.equal(result.ok, true, `expected success, got ${JSON.stringify(result)}`);
  return (result as Extract<AuthorizeResult, { ok: true }>).authorization;
}

const noMatch = { purpose: 'contactless', challenge, method: { biometric: 'no_match' } } as const;
const match = { purpose: 'contactless', challenge, method: { biometric: 'match' } } as const;
const passcode = (code: string) => ({ purpose: 'contactless' as const, challenge, method: { passcode: code } });

describe('SecureEnclave failure counting', () => {
  it('face: passcode offered after 2 failures, required after 5, biometric refused until a passcode success', async () => {
    const { enclave } = await device('face');
    const seen: Array<[boolean, boolean]> = [];
    for (let i = 1; i <= 5; i++) {
      const f = failure(await enclave.authorize(noMatch));
      assert.equal(f.reason, 'biometric_no_match');
      seen.push([f.passcodeOffered, f.passcodeRequired]);
    }
    assert.deepEqual(seen, [
      [false, false],
      [true, false],
      [true, false],
      [true, false],
      [true, true],
    ]);
    await rejectsWith(enclave.authorize(match), 'enclave_passcode_required');
    await rejectsWith(enclave.authorize(noMatch), 'enclave_passcode_required');
    assert.deepEqual(await enclave.state(), {
      biometric: 'face',
      failedBiometric: 5,
      failedPasscode: 0,
      passcodeOffered: true,
      passcodeRequired: true,
      locked: false,
    });
    success(await enclave.authorize(passcode(PASSCODE)));
    const state = await enclave.state();
    assert.equal(state.failedBiometric, 0);
    assert.equal(state.passcodeRequired, false);
    success(await enclave.authorize(match));
  });

  it('face: biometric still allowed once the passcode is offered, and a match resets the count', async () => {
    const { enclave } = await device('face');
    failure(await enclave.authorize(noMatch));
    assert.equal(failure(await enclave.authorize(noMatch)).passcodeOffered, true);
    success(await enclave.authorize(match));
    assert.equal((await enclave.state()).failedBiometric, 0);
    assert.equal(failure(await enclave.authorize(noMatch)).passcodeOffered, false);
  });

  it('finger: passcode offered after 3 failures, required after 5', async () => {
    const { enclave } = await device('finger');
    const offered: boolean[] = [];
    const required: boolean[] = [];
    for (let i = 1; i <= 5; i++) {
      const f = failure(await enclave.authorize(noMatch));
      offered.push(f.passcodeOffered);
      required.push(f.passcodeRequired);
    }
    assert.deepEqual(offered, [false, false, true, true, true]);
    assert.deepEqual(required, [false, false, false, false, true]);
    await rejectsWith(enclave.authorize(match), 'enclave_passcode_required');
  });

  it('counts passcode failures, resets them on success, locks after 10', async () => {
    const { enclave } = await device('face');
    const f1 = failure(await enclave.authorize(passcode('000000')));
    assert.equal(f1.reason, 'passcode_incorrect');
    assert.equal(f1.attemptsLeft, 9);
    failure(await enclave.authorize(passcode('111111')));
    assert.equal((await enclave.state()).failedPasscode, 2);
    success(await enclave.authorize(passcode(PASSCODE)));
    assert.equal((await enclave.state()).failedPasscode, 0);

    for (let i = 1; i <= 9; i++) assert.equal(failure(await enclave.authorize(passcode('999999'))).attemptsLeft, 10 - i);
    const last = failure(await enclave.authorize(passcode('999999')));
    assert.equal(last.attemptsLeft, 0);
    assert.equal(last.locked, true);
    await rejectsWith(enclave.authorize(passcode(PASSCODE)), 'enclave_locked');
    await rejectsWith(enclave.authorize(match), 'enclave_locked');
    assert.equal((await enclave.state()).locked, true);
  });

  it('keeps its counters across a reopen, sealed: editing storage does not reset them', async () => {
    const { enclave, se, storage, clock } = await device('face');
    await se.setCertificate(TEST_CERT_PEM, TEST_CERT_PEM);
    for (let i = 0; i < 5; i++) failure(await enclave.authorize(noMatch));
    const saved = await storage.get('enclave:state');
    const { enclave: reopened } = await openDevice(storage, { clock: () => clock.now });
    assert.equal((await reopened.state()).passcodeRequired, true);
    await rejectsWith(reopened.authorize(match), 'enclave_passcode_required');

    // A sealed record from another slot, an older state, or any edit does not open or is refused.
    await storage.put('enclave:state', await storage.get('se:certificate'));
    await rejectsWith(reopened.state(), 'enclave_storage_corrupt');
    await storage.put('enclave:state', undefined);
    await rejectsWith(reopened.state(), 'enclave_storage_corrupt');
    await storage.put('enclave:state', saved);
    assert.equal((await reopened.state()).failedBiometric, 5);
  });

  it('keeps the passcode only as a hash', async () => {
    const { storage } = await device('face');
    const dump = await dumpStorage(storage);
    assert.ok(!dump.includes(PASSCODE));
  });

  it('a passcode-only device always offers the passcode and refuses biometric', async () => {
    const { enclave } = await device(null);
    assert.equal((await enclave.state()).passcodeOffered, true);
    await rejectsWith(enclave.authorize(match), 'enclave_biometric_not_enrolled');
    success(await enclave.authorize(passcode(PASSCODE)));
  });

  it('refuses malformed requests and set-ups', async () => {
    const { enclave, storage } = await device('face');
    await rejectsWith(enclave.authorize({ ...match, purpose: 'transfer' as 'inapp' }), 'enclave_request_invalid');
    await rejectsWith(enclave.authorize({ ...match, challenge: new Uint8Array(0) }), 'enclave_request_invalid');
    await rejectsWith(enclave.authorize({ ...match, challenge: new Uint8Array(256) }), 'enclave_request_invalid');
    await rejectsWith(enclave.authorize({ ...match, method: { biometric: 'maybe' as 'match' } }), 'enclave_request_invalid');
    await rejectsWith(enclave.authorize({ ...match, method: {} as { passcode: string } }), 'enclave_request_invalid');
    await rejectsWith(setupDevice(storage, { biometric: 'face', passcode: PASSCODE, passcodeIterations: ITERATIONS }), 'device_already_set_up');
    await rejectsWith(setupDevice(new MemoryStorage(), { biometric: 'face', passcode: '12' }), 'enclave_setup_invalid');
    await rejectsWith(setupDevice(new MemoryStorage(), { biometric: 'eye' as 'face', passcode: PASSCODE }), 'enclave_setup_invalid');
    await rejectsWith(SecureEnclave.open(new MemoryStorage()), 'enclave_not_set_up');
    assert.equal((await enclave.state()).failedBiometric, 0, 'refusals are not counted attempts');
  });
});

describe('Secure Enclave authorizations checked by the Secure Element', () => {
  it('accepts a fresh authorization once, for its purpose and challenge', async () => {
    const { enclave, se } = await device('face');
    const auth = success(await enclave.authorize({ purpose: 'inapp', challenge, method: { biometric: 'match' } }));
    assert.equal(auth.challenge, toHex(challenge));
    assert.match(auth.nonce, /^[0-9A-F]{32}$/);
    assert.match(auth.mac, /^[0-9A-F]{64}$/);
    await se.verifyAuthorization(auth, { purpose: 'inapp', challenge });
    await rejectsWith(se.verifyAuthorization(auth, { purpose: 'inapp', challenge }), 'se_authorization_replayed');
  });

  it('refuses another challenge or purpose', async () => {
    const { enclave, se } = await device('face');
    const auth = success(await enclave.authorize(match));
    await rejectsWith(se.verifyAuthorization(auth, { purpose: 'contactless', challenge: fromHex('A1B2C3D5') }), 'se_authorization_mismatch');
    await rejectsWith(se.verifyAuthorization(auth, { purpose: 'inapp', challenge }), 'se_authorization_mismatch');
    await se.verifyAuthorization(auth, { purpose: 'contactless', challenge });
  });

  it('refuses an authorization older than 60 s, accepts one exactly 60 s old', async () => {
    const { enclave, se, clock } = await device('face');
    const old = success(await enclave.authorize(match));
    const edge = success(await enclave.authorize(match));
    clock.now += 60_000;
    await se.verifyAuthorization(edge, { purpose: 'contactless', challenge });
    clock.now += 1;
    await rejectsWith(se.verifyAuthorization(old, { purpose: 'contactless', challenge }), 'se_authorization_expired');
  });

  it('refuses an authorization whose fields were edited, and one dated in the future', async () => {
    const { enclave, se, clock } = await device('face');
    const auth = success(await enclave.authorize(match));
    const other = { purpose: 'contactless' as const, challenge: fromHex('00000000') };
    await rejectsWith(se.verifyAuthorization({ ...auth, challenge: '00000000' }, other), 'se_authorization_invalid');
    await rejectsWith(se.verifyAuthorization({ ...auth, purpose: 'inapp' }, { purpose: 'inapp', challenge }), 'se_authorization_invalid');
    await rejectsWith(se.verifyAuthorization({ ...auth, issuedAt: auth.issuedAt + 1 }, { purpose: 'contactless', challenge }), 'se_authorization_invalid');
    await rejectsWith(se.verifyAuthorization({ ...auth, mac: auth.mac.slice(0, 62) }, { purpose: 'contactless', challenge }), 'se_authorization_invalid');
    await rejectsWith(se.verifyAuthorization({ ...auth, nonce: 'zz' } as Authorization, { purpose: 'contactless', challenge }), 'se_authorization_invalid');
    await rejectsWith(se.verifyAuthorization(null as unknown as Authorization, { purpose: 'contactless', challenge }), 'se_authorization_invalid');
    await rejectsWith(se.verifyAuthorization(auth, { purpose: 'contactless', challenge: 'A1B2C3D4' as unknown as Uint8Array }), 'se_request_invalid');

    clock.now += 10_000;
    const future = success(await enclave.authorize(match));
    clock.now -= 10_000;
    await rejectsWith(se.verifyAuthorization(future, { purpose: 'contactless', challenge }), 'se_authorization_invalid');
    // The untouched original still passes.
    await se.verifyAuthorization(auth, { purpose: 'contactless', challenge });
  });

  it('refuses an authorization from an enclave with another pairing key, and works only when paired', async () => {
    const a = await device('face');
    const b = await device('face');
    const fromB = success(await b.enclave.authorize(match));
    await rejectsWith(a.se.verifyAuthorization(fromB, { purpose: 'contactless', challenge }), 'se_authorization_invalid');

    const unpaired = await SecureElement.open(new MemoryStorage(), { clock: () => a.clock.now });
    const fromA = success(await a.enclave.authorize(match));
    await rejectsWith(unpaired.verifyAuthorization(fromA, { purpose: 'contactless', challenge }), 'se_not_paired');
    await rejectsWith(unpaired.pair('not a key' as unknown as CryptoKey), 'se_request_invalid');
    const key = await createPairingKey();
    assert.equal(key.extractable, false);
    await assert.rejects(globalThis.crypto.subtle.exportKey('raw', key));
  });

  it('remembers used nonces across a reopen', async () => {
    const { enclave, se, storage, clock } = await device('face');
    const auth = success(await enclave.authorize(match));
    await se.verifyAuthorization(auth, { purpose: 'contactless', challenge });
    const { se: reopened } = await openDevice(storage, { clock: () => clock.now });
    await rejectsWith(reopened.verifyAuthorization(auth, { purpose: 'contactless', challenge }), 'se_authorization_replayed');
  });

  it('accepts each of many concurrent uses of one authorization at most once', async () => {
    const { enclave, se } = await device('face');
    const auth = success(await enclave.authorize(match));
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => se.verifyAuthorization(auth, { purpose: 'contactless', challenge })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  });

  it('uses the injected random source for nonces', async () => {
    const storage = new MemoryStorage();
    let counter = 0;
    const { enclave } = await setupDevice(storage, {
      biometric: 'finger',
      passcode: PASSCODE,
      passcodeIterations: ITERATIONS,
      clock: () => 1_000,
      random: (n) => new Uint8Array(n).fill(++counter),
    });
    assert.equal(success(await enclave.authorize(match)).nonce, '01'.repeat(16));
    assert.equal(success(await enclave.authorize(match)).nonce, '02'.repeat(16));
  });
});

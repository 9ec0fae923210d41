/**
 * Device set-up: a new device gets a Secure Element and a Secure Enclave paired with one fresh key,
 * which never leaves the two (a non-extractable HMAC key, kept by each in the device storage).
 */
import { DeviceError } from './errors.js';
import { createPairingKey } from './pairing.js';
import { SecureElement } from './secure-element.js';
import { SecureEnclave, type BiometricKind } from './secure-enclave.js';
import type { DeviceStorage } from './storage.js';

export interface DeviceSetupOptions {
  biometric: BiometricKind | null;
  passcode: string;
  clock?: () => number;
  /** Random bytes for authorization nonces (tests). */
  random?: (n: number) => Uint8Array;
  /** PBKDF2 iterations for the passcode hash (tests lower it; default 600,000). */
  passcodeIterations?: number;
}

export interface DeviceChips {
  se: SecureElement;
  enclave: SecureEnclave;
}

/** Sets up a new device in `storage`: refuses (device_already_set_up) when it already holds one. */
export async function setupDevice(storage: DeviceStorage, options: DeviceSetupOptions): Promise<DeviceChips> {
  if ((await SecureElement.exists(storage)) || (await SecureEnclave.exists(storage))) {
    throw new DeviceError('device_already_set_up', 'this storage already holds a device');
  }
  const pairingKey = await createPairingKey();
  const enclave = await SecureEnclave.create({
    storage,
    pairingKey,
    biometric: options.biometric,
    passcode: options.passcode,
    clock: options.clock,
    random: options.random,
    passcodeIterations: options.passcodeIterations,
  });
  const se = await SecureElement.open(storage, { pairingKey, clock: options.clock });
  return { se, enclave };
}

/** Opens the device already set up in `storage`. */
export async function openDevice(storage: DeviceStorage, options: { clock?: () => number; random?: (n: number) => Uint8Array } = {}): Promise<DeviceChips> {
  const enclave = await SecureEnclave.open(storage, options);
  const se = await SecureElement.open(storage, { clock: options.clock });
  return { se, enclave };
}

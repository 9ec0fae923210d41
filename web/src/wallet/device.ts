import { openDevice, setupDevice, type DeviceChips } from '../../../src/device/setup.js';
import { SecureElement } from '../../../src/device/secure-element.js';
import { Wallet } from '../../../src/device/wallet.js';
import { WalletPlatformClient } from '../../../src/platform/client.js';
import { IndexedDbStorage } from '../shared/idb-storage';
import { platformTransport } from '../shared/platform';

/**
 * This browser as a device: its Secure Element, Secure Enclave and wallet state in IndexedDB (one
 * database per kind, so one browser can be a phone and a watch), and the platform session it signs in
 * with. The wallet code is the same that runs in Node (src/device).
 */
export type DeviceKind = 'phone' | 'watch';

const SLOT_SESSION = 'app:session';

export interface StoredSession {
  token: string;
  email: string;
  /** True once the session is bound to this device (after registration or a sign-in with device_id). */
  deviceBound: boolean;
}

export interface BrowserDevice {
  kind: DeviceKind;
  storage: IndexedDbStorage;
  chips: DeviceChips | null;
  deviceId: string | null;
  deviceName: string | null;
  session: StoredSession | null;
}

export function storageName(kind: DeviceKind): string {
  return `tessera-device-${kind}`;
}

export async function loadDevice(kind: DeviceKind): Promise<BrowserDevice> {
  const storage = new IndexedDbStorage(storageName(kind));
  const chips = (await SecureElement.exists(storage)) ? await openDevice(storage) : null;
  const device = (await storage.get('wallet:device')) as { id?: unknown; name?: unknown } | undefined;
  const session = (await storage.get(SLOT_SESSION)) as StoredSession | undefined;
  return {
    kind,
    storage,
    chips,
    deviceId: typeof device?.id === 'string' ? device.id : null,
    deviceName: typeof device?.name === 'string' ? device.name : null,
    session: session && typeof session.token === 'string' ? session : null,
  };
}

export async function saveSession(device: BrowserDevice, session: StoredSession | null): Promise<void> {
  if (session) await device.storage.put(SLOT_SESSION, session);
  else await device.storage.delete(SLOT_SESSION);
  device.session = session;
}

export function walletFor(device: BrowserDevice, token: string): { wallet: Wallet; client: WalletPlatformClient } {
  if (!device.chips) throw new Error('this device is not set up');
  const client = new WalletPlatformClient(platformTransport(), token);
  const wallet = new Wallet({ api: client, se: device.chips.se, enclave: device.chips.enclave, storage: device.storage });
  return { wallet, client };
}

export async function signUp(body: { email: string; password: string; name: string }): Promise<string> {
  const { session } = await WalletPlatformClient.signUp(platformTransport(), body);
  return session.token;
}

export async function signIn(body: { email: string; password: string; device_id?: string }): Promise<{ token: string; deviceBound: boolean }> {
  const { session } = await WalletPlatformClient.signIn(platformTransport(), body);
  return { token: session.token, deviceBound: session.device_id !== null };
}

/** Sets up the SE and Secure Enclave (fresh keys, non-extractable) and registers them with the platform. */
export async function setUpAndRegister(device: BrowserDevice, input: { name: string; passcode: string; faceId: boolean; userToken: string }): Promise<void> {
  if (!device.chips) device.chips = await setupDevice(device.storage, { biometric: input.faceId ? 'face' : null, passcode: input.passcode });
  const { wallet, client } = walletFor(device, input.userToken);
  const { device: registered } = await wallet.register({ kind: device.kind, name: input.name });
  device.deviceId = registered.id;
  device.deviceName = registered.name;
  await saveSession(device, { token: client.sessionToken, email: device.session?.email ?? '', deviceBound: true });
}

/** Forgets this device entirely (SE keys, cards, log): "Erase this iPhone" on the device itself. */
export async function wipe(device: BrowserDevice): Promise<void> {
  await device.storage.close();
  await IndexedDbStorage.destroy(storageName(device.kind));
}

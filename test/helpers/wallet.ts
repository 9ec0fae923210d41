import { MemoryStorage } from '../../src/device/storage.js';
import { setupDevice } from '../../src/device/setup.js';
import { Wallet } from '../../src/device/wallet.js';
import { randomBase62 } from '../../src/infra/ids.js';
import { InjectTransport, type Transport } from '../../src/infra/transport.js';
import { WalletPlatformClient } from '../../src/platform/client.js';
import type { TestTessera } from './tessera.js';

export interface TestDevice {
  wallet: Wallet;
  client: WalletPlatformClient;
  se: Awaited<ReturnType<typeof setupDevice>>['se'];
  enclave: Awaited<ReturnType<typeof setupDevice>>['enclave'];
  storage: MemoryStorage;
  deviceId: string;
}

export function transportOf(t: TestTessera): Transport {
  return new InjectTransport(() => t.tessera.app);
}

export async function newUser(t: TestTessera): Promise<{ email: string; password: string; client: WalletPlatformClient }> {
  const email = `u-${randomBase62(10).toLowerCase()}@example.com`;
  const password = `pw-${randomBase62(16)}`;
  const { client } = await WalletPlatformClient.signUp(transportOf(t), { email, password, name: 'Test User' });
  return { email, password, client };
}

/** A simulated phone (or watch) of that user: its own SE and Secure Enclave, registered with the platform. */
export async function newDevice(t: TestTessera, user: { email: string; password: string }, kind: 'phone' | 'watch' = 'phone'): Promise<TestDevice> {
  const { client } = await WalletPlatformClient.signIn(transportOf(t), { email: user.email, password: user.password });
  const storage = new MemoryStorage();
  const { se, enclave } = await setupDevice(storage, { biometric: 'face', passcode: '123456', passcodeIterations: 1000 });
  const wallet = new Wallet({ api: client, se, enclave, storage });
  const { device } = await wallet.register({ kind, name: `Test ${kind}` });
  return { wallet, client, se, enclave, storage, deviceId: device.id };
}

export const FUTURE_YEAR = new Date().getUTCFullYear() + 3;

export function card(pan: string, cvv = pan.startsWith('3') ? '1234' : '123', expYear = FUTURE_YEAR) {
  return { pan, expMonth: 12, expYear, cvv, name: 'Test User' };
}

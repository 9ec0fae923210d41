import { MemoryStorage } from '../device/storage.js';
import { setupDevice } from '../device/setup.js';
import { Wallet, type AddCardResult } from '../device/wallet.js';
import { detectNetwork, maskPan } from '../protocol/cards/index.js';
import { randomBase62 } from '../infra/ids.js';
import { WalletPlatformClient } from '../platform/client.js';
import type { Transport } from '../infra/transport.js';
import { SANDBOX_DEFAULT_CARDS } from './cards.js';

export type NetworkName = 'visa' | 'mastercard' | 'amex' | 'discover';

export interface ProvisionOptions {
  network?: NetworkName | undefined;
  card?: string | undefined;
  /** With --card: its CVV (the sandbox's well-known cards take 123, 1234 for Amex). */
  cvv?: string | undefined;
  exp?: { month: number; year: number } | undefined;
  yellow?: boolean | undefined;
  deviceName?: string;
  deviceKind?: 'phone' | 'watch';
  /** An already signed-up user's client (a second device of the same user); a new user otherwise. */
  user?: { email: string; password: string } | undefined;
}

export interface ProvisionedDevice {
  wallet: Wallet;
  client: WalletPlatformClient;
  se: Awaited<ReturnType<typeof setupDevice>>['se'];
  enclave: Awaited<ReturnType<typeof setupDevice>>['enclave'];
  user: { email: string; password: string };
  cardId: string;
  tokenRef: string;
  network: NetworkName;
}

/**
 * Flow 1 with a simulated device: sign up, set up the device (SE + Secure Enclave), register it (the
 * platform's device CA certifies the SE key), add a card (encrypted on the device for its network),
 * pass the issuer's ID&V (one-time code read from the sandbox's SMS outbox on the yellow path), and
 * check the token is installed in the SE.
 */
export async function runProvision(transport: Transport, options: ProvisionOptions, log: { step(t: string): void; detail(t: string): void }): Promise<ProvisionedDevice> {
  const network: NetworkName = options.network ?? (options.card ? ((detectNetwork(options.card) ?? 'visa') as NetworkName) : 'visa');
  const cardInput = options.card
    ? { ...SANDBOX_DEFAULT_CARDS[network], pan: options.card, cvv: options.cvv ?? (detectNetwork(options.card) === 'amex' ? '1234' : '123'), ...(options.exp ? { expMonth: options.exp.month, expYear: options.exp.year } : {}) }
    : SANDBOX_DEFAULT_CARDS[network];

  let client: WalletPlatformClient;
  let user = options.user;
  if (user) {
    log.step(`sign in as ${user.email}`);
    client = (await WalletPlatformClient.signIn(transport, user)).client;
  } else {
    user = { email: `user-${randomBase62(8).toLowerCase()}@sandbox.tessera.dev`, password: `pw-${randomBase62(16)}` };
    log.step(`sign up ${user.email}`);
    client = (await WalletPlatformClient.signUp(transport, { ...user, name: 'Ada Lovelace' })).client;
  }

  const storage = new MemoryStorage();
  const { se, enclave } = await setupDevice(storage, { biometric: 'face', passcode: '123456', passcodeIterations: 1000 });
  const wallet = new Wallet({ api: client, se, enclave, storage });
  const kind = options.deviceKind ?? 'phone';
  const { device } = await wallet.register({ kind, name: options.deviceName ?? (kind === 'phone' ? 'Simulated iPhone' : 'Simulated Watch') });
  log.step(`register ${device.kind} ${device.id}: Secure Element key certified by the platform's device CA`);

  log.step(`add ${network} card ${maskPan(String(cardInput.pan))} (encrypted on the device for ${network}; the platform cannot read it)`);
  let result: AddCardResult = await wallet.addCard(cardInput, options.yellow ? { sandboxDeviceScore: 1 } : {});
  log.detail(`issuer ${result.card.issuer_name}: ${result.state === 'active' ? 'green (approved)' : 'yellow (step-up: one-time code)'}`);

  if (result.state === 'needs_verification') {
    const method = result.methods.find((m) => m.type === 'sms') ?? result.methods[0];
    if (!method) throw new Error('the issuer offered no verification method');
    await wallet.sendCode(result.card.id, method.id);
    log.step(`issuer sent a one-time code by ${method.type} to ${method.destination}`);
    const messages = await wallet.verificationMessages(result.card.id);
    const code = /\b(\d{6})\b/.exec(messages.at(-1)?.body ?? '')?.[1];
    if (!code) throw new Error('no one-time code in the sandbox outbox');
    log.detail(`sandbox outbox: "${messages.at(-1)!.body.replace(code, '••••••')}"`);
    result = await wallet.confirmCode(result.card.id, code);
    log.step('one-time code confirmed: the issuer approves, the network activates the token');
  }
  if (result.state !== 'active') throw new Error('the card did not become active');

  const onSe = (await se.listCards()).find((c) => c.tokenRef === result.card.token_ref);
  if (!onSe) throw new Error('the token is not in the Secure Element');
  log.step(`installed in the Secure Element: token ${result.card.token_ref} (device account number •••• ${onSe.tokenLast4}), ${onSe.label}`);
  log.detail(`wallet shows: ${result.card.issuer_name} ${result.card.card_type} •••• ${result.card.last4}, status ${result.card.status}`);
  return { wallet, client, se, enclave, user, cardId: result.card.id, tokenRef: result.card.token_ref, network };
}

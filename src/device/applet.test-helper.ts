/**
 * Test helpers for payments: a device (SE + Secure Enclave on one injected clock) holding cards whose
 * master keys are derived from known issuer master keys, as the network's HSM derives them, so a test
 * can verify the cryptograms the SE makes as the network will.
 */
import { fromHex, toHex } from '../protocol/bytes.js';
import { generateToken, type Network } from '../protocol/cards/index.js';
import {
  aesKeyCheckValue,
  deriveAesIccMasterKey,
  deriveIccMasterKeyA,
  keyCheckValue,
  verifyAesArqc,
  verifyArqc,
  type CryptogramInput,
} from '../protocol/emv/index.js';
import { buildPayload, random } from './fixtures.test-helper.js';
import type { Authorization, AuthorizationPurpose } from './pairing.js';
import { SecureElement, type SecureElementOptions } from './secure-element.js';
import type { SecureEnclave } from './secure-enclave.js';
import { setupDevice } from './setup.js';
import { MemoryStorage } from './storage.js';

/** The pyemv test IMK (3DES, Visa and Mastercard) and RFC 4493's AES key (Amex, Discover). */
export const IMK_3DES = fromHex('0123456789ABCDEFFEDCBA9876543210');
export const IMK_AES = fromHex('2B7E151628AED2A6ABF7158809CF4F3C');
export const CVN_BY_NETWORK = { visa: 18, mastercard: 20, amex: 'A1', discover: 'D1' } as const;
export const ALL_NETWORKS: readonly Network[] = ['visa', 'mastercard', 'amex', 'discover'];
export const T0 = Date.UTC(2026, 2, 14, 15, 9, 26);

export interface TestCard {
  tokenRef: string;
  tokenPan: string;
  network: Network;
}

export interface PaymentDevice {
  se: SecureElement;
  enclave: SecureEnclave;
  storage: MemoryStorage;
  clock: { now: number };
  cards: Record<Network, TestCard>;
  /** Opens the SE in the same storage again (a reboot), optionally with other options. */
  reopen(options?: Omit<SecureElementOptions, 'clock'>): Promise<SecureElement>;
}

/** The ICC master key the network derives for a token. */
export async function iccMasterKey(network: Network, tokenPan: string, psn = '00'): Promise<Uint8Array> {
  return network === 'visa' || network === 'mastercard' ? deriveIccMasterKeyA(IMK_3DES, tokenPan, psn) : deriveAesIccMasterKey(IMK_AES, tokenPan, psn);
}

/** What the network does with DE55: verify the ARQC under the token's key. */
export async function verifyCryptogram(network: Network, tokenPan: string, psn: string, input: CryptogramInput, arqc: Uint8Array): Promise<boolean> {
  const mk = await iccMasterKey(network, tokenPan, psn);
  const cvn = CVN_BY_NETWORK[network];
  return cvn === 'A1' || cvn === 'D1' ? verifyAesArqc(cvn, mk, input, arqc) : verifyArqc(cvn, mk, input, arqc);
}

/** Installs a card of `network` with an IMK-derived key. */
export async function installCard(se: SecureElement, network: Network, tokenRef?: string): Promise<TestCard> {
  const tokenPan = generateToken(network, random);
  const mk = await iccMasterKey(network, tokenPan);
  const kcv = network === 'visa' || network === 'mastercard' ? keyCheckValue(mk) : await aesKeyCheckValue(mk);
  const { jwe, payload } = await buildPayload(await se.publicKeyJwk(), {
    network,
    ...(tokenRef !== undefined ? { tokenRef } : {}),
    override: { token_pan: tokenPan },
    keyOverride: { mk: toHex(mk), kcv: toHex(kcv) },
  });
  const installed = await se.install(jwe);
  return { tokenRef: installed.tokenRef, tokenPan: String(payload.token_pan), network };
}

/** A device with one card per network (installed in ALL_NETWORKS order). */
export async function paymentDevice(options: { transit?: SecureElementOptions['transit'] } = {}): Promise<PaymentDevice> {
  const storage = new MemoryStorage();
  const clock = { now: T0 };
  const chips = await setupDevice(storage, { biometric: 'face', passcode: '123456', clock: () => clock.now, passcodeIterations: 1_000 });
  let se = chips.se;
  if (options.transit) se = await SecureElement.open(storage, { clock: () => clock.now, transit: options.transit });
  const cards = {} as Record<Network, TestCard>;
  for (const network of ALL_NETWORKS) cards[network] = await installCard(se, network);
  return {
    se,
    enclave: chips.enclave,
    storage,
    clock,
    cards,
    reopen: (more = {}) => SecureElement.open(storage, { clock: () => clock.now, ...more }),
  };
}

/** An Enclave authorization for `purpose` over the SE's fresh contactless challenge (biometric match). */
export async function authorizeTap(device: Pick<PaymentDevice, 'se' | 'enclave'>, purpose: AuthorizationPurpose = 'contactless'): Promise<Authorization> {
  const challenge = await device.se.newChallenge('contactless');
  const result = await device.enclave.authorize({ purpose, challenge, method: { biometric: 'match' } });
  if (!result.ok) throw new Error('biometric match was refused');
  return result.authorization;
}

import { WalletPlatformClient } from '../platform/client.js';
import { call } from '../infra/transport.js';
import type { Target } from './harness.js';
import { runProvision, type NetworkName } from './provision.js';
import { describeAmount, kernelFor, sandboxTerminal, tap, type TapResult, type TerminalSetup } from './tap.js';
import type { ProvisionedDevice } from './provision.js';

export interface ScenarioLog {
  step(text: string): void;
  detail(text: string): void;
}

export interface ScenarioOutcome {
  ok: boolean;
  summary: string;
}

/** Double-click (Face ID) and hold the phone to the reader. */
export async function payOnce(target: Target, device: ProvisionedDevice, terminal: TerminalSetup, amount: number, log: ScenarioLog, label: string): Promise<TapResult> {
  const armed = await device.wallet.preparePayment({ biometric: 'match' });
  if (!armed.ok) throw new Error('the Secure Enclave refused the verification');
  const r = await tap(target, device, terminal, kernelFor(terminal), amount);
  const outcome = r.offline ? `DECLINED at the reader: ${r.offline}` : `${r.approved ? 'APPROVED' : 'DECLINED'}: DE39 ${r.responseCode} (${r.reason})${r.authCode ? `, auth code ${r.authCode}` : ''}`;
  log.step(`${label}: tap ${describeAmount(amount, terminal.currency)} at ${terminal.merchantName} → ${outcome}`);
  return r;
}

/**
 * Flow 4, "Find My": a phone pays; the user reports it lost from another session (the web, another
 * device); the platform suspends every token on it at its network, server-side, while the phone itself
 * knows nothing (it may be offline); the same phone's next tap is declined by the network (62).
 */
export async function runLostDevice(target: Target, options: { network?: NetworkName | undefined; amount: number }, log: ScenarioLog): Promise<ScenarioOutcome> {
  const device = await runProvision(target.device, { network: options.network }, log);
  await device.wallet.setDefaultCard(device.cardId);
  const terminal = await sandboxTerminal(target);
  const deviceId = await device.wallet.deviceId();
  if (!deviceId) throw new Error('the wallet has no registered device');

  const before = await payOnce(target, device, terminal, options.amount, log, 'before');

  // "Find My" from a browser: the same user signs in without the phone.
  const account = (await WalletPlatformClient.signIn(target.device, device.user)).client;
  log.step(`the user signs in elsewhere and reports device ${deviceId} lost`);
  const report = await call<{ device: { status: string }; cards: { id: string; status: string }[] }>(target.device, 'platform', {
    method: 'POST',
    path: `/platform/v1/devices/${encodeURIComponent(deviceId)}/lost`,
    apiKey: account.sessionToken,
  });
  for (const c of report.cards) log.detail(`card ${c.id}: ${c.status} at its network (reason device_lost); the phone's sessions stop`);
  const suspended = report.device.status === 'lost' && report.cards.some((c) => c.id === device.cardId && c.status === 'suspended');

  const seStatus = (await device.se.listCards()).find((c) => c.tokenRef === device.tokenRef)?.status;
  log.detail(`the phone heard nothing (offline): its Secure Element still has the card ${seStatus ?? 'absent'}`);
  const after = await payOnce(target, device, terminal, options.amount, log, 'after');

  const ok = before.approved && suspended && !after.approved && after.responseCode === '62';
  return {
    ok,
    summary: ok
      ? `approved before (DE39 ${before.responseCode}), declined after the report (DE39 ${after.responseCode}: token suspended at the network)`
      : `expected approved then declined 62; got ${before.responseCode} then ${after.offline ?? after.responseCode}${suspended ? '' : ', and the report did not suspend the card'}`,
  };
}

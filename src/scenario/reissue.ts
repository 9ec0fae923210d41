import { randomBase62 } from '../infra/ids.js';
import { call } from '../infra/transport.js';
import { TESSERA_BANK } from '../issuer/sandbox-cards.js';
import { maskPan } from '../protocol/cards/index.js';
import type { Target } from './harness.js';
import { payOnce, type ScenarioLog, type ScenarioOutcome } from './lost-device.js';
import { runProvision, type NetworkName } from './provision.js';
import { sandboxTerminal } from './tap.js';

interface Notification {
  event_id: string;
  status: string;
  tokens_changed: number | null;
}

/**
 * Flow 4, reissue: the bank issues a fresh card, it is added to a phone and pays; the bank reissues it
 * (a new number and expiry). The change reaches the card's network through the issuer's outbox; the
 * network re-maps the token to the new number (the token and its keys do not change: no
 * re-provisioning); the phone hears of the new last four digits and expiry on its push channel and
 * pays again with the same token.
 */
export async function runReissue(target: Target, options: { network?: NetworkName | undefined; amount: number }, log: ScenarioLog): Promise<ScenarioOutcome> {
  const network = options.network ?? 'visa';
  const issuerId = process.env.TESSERA_ISSUER_ID ?? TESSERA_BANK;
  const issuerKey = target.tessera ? target.tessera.issuerKeys[issuerId] : process.env.TESSERA_ISSUER_KEY;
  if (!issuerKey) throw new Error('against --url, set TESSERA_ISSUER_KEY (and TESSERA_ISSUER_ID) so the scenario can act as the bank');

  const issued = await call<{ card_id: string; number: string; cvv: string; exp_month: number; exp_year: number }>(target.raw, `issuer:${issuerId}`, {
    method: 'POST',
    path: `/issuer/${encodeURIComponent(issuerId)}/v1/sandbox/cards`,
    apiKey: issuerKey,
    body: { network, holder_name: 'Reissue Scenario' },
  });
  log.step(`the bank issues a new ${network} card ${maskPan(issued.number)} (card ${issued.card_id}), expiry ${String(issued.exp_month).padStart(2, '0')}/${issued.exp_year}`);
  const device = await runProvision(target.device, { card: issued.number, cvv: issued.cvv, exp: { month: issued.exp_month, year: issued.exp_year } }, log);
  await device.wallet.setDefaultCard(device.cardId);
  const terminal = await sandboxTerminal(target);
  const before = await payOnce(target, device, terminal, options.amount, log, 'before');
  const seBefore = (await device.se.listCards()).find((c) => c.tokenRef === device.tokenRef);

  const expYear = issued.exp_year + 1;
  const reissued = await call<{ last4: string; exp_month: number; exp_year: number; number: string; notification: Notification | null }>(target.raw, `issuer:${issuerId}`, {
    method: 'POST',
    path: `/issuer/${encodeURIComponent(issuerId)}/v1/cards/${encodeURIComponent(issued.card_id)}/reissue`,
    apiKey: issuerKey,
    idempotencyKey: `scenario-reissue-${randomBase62(12)}`,
    body: { new_number: true, exp_month: 6, exp_year: expYear },
  });
  log.step(`the bank reissues it: new number ${maskPan(reissued.number)}, expiry 06/${expYear}; answered at once, the network is told through the outbox (event ${reissued.notification?.event_id ?? '-'})`);

  const delivered = await waitForDelivery(target, issuerId, issuerKey, issued.card_id, reissued.notification?.event_id);
  if (!delivered) throw new Error('the PAN update did not reach the network in time');
  log.detail(`${network} network: PAN update delivered, ${delivered.tokens_changed ?? 0} token re-mapped to the new number (token number and keys unchanged)`);

  // The phone's push channel: the card's new last four digits and expiry.
  if (target.tessera) for (let i = 0; i < 20 && (await target.tessera.outbox.runOnce()) > 0; i++);
  const applied = await waitFor(async () => {
    const events = await device.wallet.sync.syncEvents();
    return events.find((e) => e.type === 'card.updated') ? events : undefined;
  });
  const shown = (await device.wallet.sync.localCards()).find((c) => c.id === device.cardId);
  log.step(`the phone hears of it (${applied ? 'card.updated on its push channel' : 'no event yet'}): wallet shows •••• ${shown?.last4 ?? '?'}, expiry ${shown ? `${String(shown.exp_month).padStart(2, '0')}/${shown.exp_year}` : '?'}`);

  const after = await payOnce(target, device, terminal, options.amount, log, 'after');
  const seAfter = (await device.se.listCards()).find((c) => c.tokenRef === device.tokenRef);
  const sameToken = Boolean(seBefore && seAfter && seBefore.tokenLast4 === seAfter.tokenLast4);
  log.detail(`the same token both times: ${device.tokenRef} (device account number •••• ${seAfter?.tokenLast4 ?? '?'})`);

  const ok = before.approved && after.approved && sameToken && shown?.last4 === reissued.number.slice(-4);
  return {
    ok,
    summary: ok
      ? `approved before and after the reissue with the same token (card •••• ${issued.number.slice(-4)} → •••• ${reissued.number.slice(-4)})`
      : `expected approved before and after with the same token and the new last4; got ${before.responseCode} then ${after.offline ?? after.responseCode}, same token ${sameToken}, wallet last4 ${shown?.last4 ?? '?'}`,
  };
}

async function waitFor<T>(fn: () => Promise<T | undefined>, ms = 10_000): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Embedded: runs the outbox itself; against --url: the server's worker delivers, the scenario watches. */
async function waitForDelivery(target: Target, issuerId: string, issuerKey: string, cardId: string, eventId: string | undefined): Promise<Notification | undefined> {
  return waitFor(async () => {
    if (target.tessera) await target.tessera.outbox.runOnce();
    const list = await call<{ data: Notification[] }>(target.raw, `issuer:${issuerId}`, {
      method: 'GET',
      path: `/issuer/${encodeURIComponent(issuerId)}/v1/cards/${encodeURIComponent(cardId)}/network-notifications`,
      apiKey: issuerKey,
    });
    const n = list.data.find((x) => x.event_id === eventId);
    return n && n.status !== 'pending' ? n : undefined;
  });
}

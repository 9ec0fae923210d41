import { SANDBOX_ISSUERS } from '../issuer/sandbox-cards.js';
import { call, PartyError } from '../infra/transport.js';
import type { Target } from '../scenario/harness.js';
import { runProvision, type NetworkName, type ProvisionedDevice } from '../scenario/provision.js';

const NETWORKS: NetworkName[] = ['visa', 'mastercard', 'amex', 'discover'];

/**
 * A bench's set-up (not timed): `count` sandbox cards, the four networks in turn, each issued by its
 * sandbox issuer and provisioned on a phone of its own, eight at a time. `defaultCard` makes each the
 * phone's default (what a tap pays with). A card whose issuing or provisioning is answered `busy_retry` (the
 * platform's "this conflicted with concurrent work; retry it") is started again with a new card, up to
 * three times, as a client is told to: eight provisionings at once conflict now and then.
 */
export async function provisionMany(target: Target, count: number, log: (l: string) => void, options: { defaultCard?: boolean; onProgress?: () => void } = {}): Promise<ProvisionedDevice[]> {
  const quiet = { step: () => {}, detail: () => {} };
  const out: ProvisionedDevice[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const network = NETWORKS[i % NETWORKS.length]!;
      const issuer = SANDBOX_ISSUERS.find((s) => s.bins.some((b) => b.network === network))!;
      const provisionOne = async () => {
        const issued = await call<{ number: string; cvv: string; exp_month: number; exp_year: number }>(target.raw, 'issuer', {
          method: 'POST',
          path: `/issuer/${issuer.id}/v1/sandbox/cards`,
          apiKey: target.adminKey!,
          body: { network, credit_limit: 10_000_000 },
        });
        const device = await runProvision(target.device, { network, card: issued.number, cvv: issued.cvv, exp: { month: issued.exp_month, year: issued.exp_year } }, quiet);
        if (options.defaultCard) await device.wallet.setDefaultCard(device.cardId);
        return device;
      };
      for (let attempt = 1; ; attempt++) {
        try {
          out.push(await provisionOne());
          break;
        } catch (err) {
          if (!(err instanceof PartyError && err.code === 'busy_retry') || attempt >= 3) throw err;
          log(`\na card's set-up was answered busy_retry (${err.route ?? err.party}): starting it again with a new card`);
        }
      }
      options.onProgress?.();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

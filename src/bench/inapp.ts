import { loadConfig } from '../infra/config.js';
import { call } from '../infra/transport.js';
import { MemoryReplayCache, verifyAndDecrypt } from '../merchant/sdk/index.js';
import type { Target } from '../scenario/harness.js';
import { paymentRequest, registerMerchant, validateMerchant } from '../scenario/inapp.js';
import type { ProvisionedDevice } from '../scenario/provision.js';
import { inProcessTarget, remoteTarget } from './platform.js';
import { provisionMany } from './devices.js';
import { progressBar, runBench, type BenchSummary } from './runner.js';

/** The issuers' velocity rule allows 30 approvals per card in 10 minutes; a bench card pays at most this many. */
const PAYMENTS_PER_CARD = 25;

export interface InAppBenchOptions {
  url?: string | undefined;
  /** With --url: the merchant-validation listener (default https://<url host>:<TESSERA_MTLS_PORT>/paymentservices/startSession). */
  validationUrl?: string | undefined;
  durationS: number;
  concurrency: number;
  /** Expected throughput, to size the card pool (each card stays under the issuers' velocity limit). */
  expectedRps?: number;
  log?: (line: string) => void;
}

/**
 * Many in-app payments end to end, each timed from the merchant's validation to its authorization:
 * merchant validation over mutual TLS → the device pays (Secure Enclave, the platform's nonce, the SE's
 * cryptogram, the platform's token) → the merchant server verifies and decrypts the token (SDK) → the
 * e-commerce authorization through acquirer, network (online cryptogram in the HSM) and issuer.
 * Set-up (merchant, cards, devices) is not timed. Success = approved (DE 39 00).
 */
export async function benchInApp(options: InAppBenchOptions): Promise<BenchSummary> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let target: Target;
  let validationUrl: string;
  let rootPem: string;
  let ecommerceKey: string | undefined = process.env.TESSERA_ECOMMERCE_KEY;
  if (options.url) {
    target = remoteTarget(options.url);
    if (!target.adminKey) throw new Error('against --url, set TESSERA_ADMIN_KEY (the merchant and cards are created with it)');
    if (!ecommerceKey) throw new Error("against --url, set TESSERA_ECOMMERCE_KEY (an acquirer e-commerce terminal's API key, docs/inapp.md)");
    const base = new URL(options.url);
    validationUrl = options.validationUrl ?? `https://${base.hostname}:${loadConfig().mtlsPort}/paymentservices/startSession`;
    const res = await fetch(new URL('/platform/v1/pki/root-ca.pem', base));
    if (!res.ok) throw new Error(`the platform's root certificate is not available (HTTP ${res.status})`);
    rootPem = await res.text();
  } else {
    const started = await inProcessTarget({}, log);
    const tessera = started.tessera;
    validationUrl = await tessera.listenMerchantValidation({ port: 0, host: '127.0.0.1' });
    rootPem = await tessera.pki.rootPem();
    ecommerceKey = tessera.terminals.find((t) => t.key === 'online')?.api_key;
    target = {
      ...started.target,
      close: async () => {
        await tessera.stopMerchantValidation();
        await started.target.close();
      },
    };
  }
  try {
    if (!ecommerceKey) throw new Error('no e-commerce terminal key');
    const merchant = await registerMerchant(target.raw, target.adminKey!, { displayName: 'Bench Shop' });
    const expected = Math.ceil((options.expectedRps ?? 100) * options.durationS * 1.2);
    const cards = Math.max(options.concurrency, Math.ceil(expected / PAYMENTS_PER_CARD));
    const bar = progressBar(`set-up: ${cards} cards, each on its own phone (not timed)`, cards);
    const devices = await provisionMany(target, cards, log, { onProgress: () => bar.tick() });
    bar.done();
    const perWorker = Array.from({ length: options.concurrency }, (_, w) => devices.filter((_, i) => i % options.concurrency === w));
    const uses = new Map<ProvisionedDevice, number>();
    const keys = [{ certificatePem: merchant.processing.certificatePem, privateKeyPem: merchant.processing.privateKeyPem }];
    const seen = new MemoryReplayCache();
    let order = 0;

    const task = async (w: number, i: number): Promise<boolean> => {
      const pool = perWorker[w]!;
      const device = pool.find((d) => (uses.get(d) ?? 0) < PAYMENTS_PER_CARD) ?? pool[i % pool.length]!;
      uses.set(device, (uses.get(device) ?? 0) + 1);
      const amount = 100 + ((w * 7 + i) % 400);
      const merchantSession = await validateMerchant(validationUrl, merchant, rootPem, { initiative: 'in_app', initiativeContext: 'Bench App' });
      const paid = await device.wallet.payInApp({ merchantSession, request: paymentRequest((amount / 100).toFixed(2), 'USD', device.network), cardId: device.cardId }, { biometric: 'match' });
      if (!paid.ok) return false;
      const { payload } = await verifyAndDecrypt(paid.token, { roots: [rootPem], keys, seenTransactionIds: seen, merchantIdentifier: merchant.merchantIdentifier });
      const pd = payload.paymentData as { onlinePaymentCryptogram: string; eciIndicator?: string };
      const answer = await call<{ status: string }>(target.raw, 'acquirer', {
        method: 'POST',
        path: '/acquirer/v1/ecommerce/authorizations',
        apiKey: ecommerceKey,
        idempotencyKey: `bench-${process.pid}-${w}-${i}-${order++}`,
        body: {
          orderReference: `bench-${w}-${i}`,
          amount: payload.transactionAmount,
          currency: 'USD',
          paymentDataType: '3DSecure',
          applicationPrimaryAccountNumber: payload.applicationPrimaryAccountNumber,
          applicationExpirationDate: payload.applicationExpirationDate,
          onlinePaymentCryptogram: pd.onlinePaymentCryptogram,
          ...(pd.eciIndicator !== undefined ? { eciIndicator: pd.eciIndicator } : {}),
        },
      });
      return answer.status === 'approved';
    };
    let reported = 0;
    return await runBench({
      scenario: 'inapp',
      durationS: options.durationS,
      concurrency: options.concurrency,
      task,
      onFailure: (err) => {
        if (reported++ < 3) log(`\nin-app payment failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    });
  } finally {
    await target.close();
  }
}


import { request as httpsRequest } from 'node:https';
import { call, type Transport } from '../infra/transport.js';
import type { PaymentToken } from '../device/platform-api.js';
import { runProvision, type NetworkName, type ProvisionedDevice } from './provision.js';
import { randomBase62 } from '../infra/ids.js';

/** A merchant registered with the platform for in-app payments, with its certificates and keys. */
export interface InAppMerchant {
  id: string;
  merchantIdentifier: string;
  displayName: string;
  /** tsk_merchant_…: the merchant's platform API key. */
  apiKey: string;
  processing: { certificatePem: string; privateKeyPem: string };
  identity: { certificatePem: string; chainPem: string; privateKeyPem: string };
}

export interface Log {
  step(text: string): void;
  detail(text: string): void;
}

const silent: Log = { step() {}, detail() {} };

/**
 * Registers a merchant with the platform (operator key), and issues its payment-processing certificate
 * (EC P-256, or RSA 2048 with `rsa`) and its merchant identity certificate (for merchant validation).
 */
export async function registerMerchant(
  transport: Transport,
  adminKey: string,
  options: { merchantIdentifier?: string | undefined; displayName?: string; rsa?: boolean } = {},
  log: Log = silent,
): Promise<InAppMerchant> {
  const merchantIdentifier = options.merchantIdentifier ?? `merchant.dev.tessera.demo.${randomBase62(10).toLowerCase()}`;
  const displayName = options.displayName ?? 'Tessera Demo Shop';
  const created = await call<{ merchant: { id: string }; api_key: { secret: string } }>(transport, 'platform', {
    method: 'POST',
    path: '/platform/v1/merchants',
    apiKey: adminKey,
    body: { merchant_identifier: merchantIdentifier, display_name: displayName },
  });
  log.step(`register merchant ${merchantIdentifier} with the platform (${created.merchant.id})`);
  const issue = (kind: 'processing' | 'identity', keyType: 'ec_p256' | 'rsa_2048') =>
    call<{ certificate_pem: string; chain_pem: string; private_key_pem?: string }>(transport, 'platform', {
      method: 'POST',
      path: `/platform/v1/merchants/${created.merchant.id}/certificates`,
      apiKey: created.api_key.secret,
      body: { kind, key_type: keyType },
    });
  const processing = await issue('processing', options.rsa ? 'rsa_2048' : 'ec_p256');
  log.step(`payment-processing certificate issued (${options.rsa ? 'RSA 2048: tokens will be RSA_v1' : 'EC P-256: tokens will be EC_v1'})`);
  const identity = await issue('identity', 'ec_p256');
  log.step('merchant identity certificate issued (mutual TLS for merchant validation)');
  if (!processing.private_key_pem || !identity.private_key_pem) throw new Error('the platform did not return the generated private keys');
  return {
    id: created.merchant.id,
    merchantIdentifier,
    displayName,
    apiKey: created.api_key.secret,
    processing: { certificatePem: processing.certificate_pem, privateKeyPem: processing.private_key_pem },
    identity: { certificatePem: identity.certificate_pem, chainPem: identity.chain_pem, privateKeyPem: identity.private_key_pem },
  };
}

/**
 * Merchant validation as a merchant server does it: POST validationURL over mutual TLS with the
 * merchant identity certificate, trusting the platform's root for the server. Answers the opaque
 * merchant session object.
 */
export async function validateMerchant(
  validationUrl: string,
  merchant: InAppMerchant,
  rootPem: string,
  body: { initiative: 'web' | 'in_app'; initiativeContext: string },
): Promise<Record<string, unknown>> {
  const payload = JSON.stringify({ merchantIdentifier: merchant.merchantIdentifier, displayName: merchant.displayName, ...body });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      validationUrl,
      { method: 'POST', cert: merchant.identity.chainPem, key: merchant.identity.privateKeyPem, ca: rootPem, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return reject(new Error(`merchant validation answered ${res.statusCode}: ${text.slice(0, 300)}`));
          try {
            resolve(JSON.parse(text) as Record<string, unknown>);
          } catch {
            reject(new Error('merchant validation answered something other than JSON'));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('merchant validation timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** An ApplePayPaymentRequest for `amount` (decimal string) in `currency`. */
export function paymentRequest(amount: string, currency: string, network?: NetworkName, countryCode = 'US'): {
  countryCode: string;
  currencyCode: string;
  supportedNetworks: string[];
  merchantCapabilities: string[];
  total: { label: string; amount: string; type: 'final' };
} {
  const all = ['visa', 'masterCard', 'amex', 'discover'];
  return {
    countryCode,
    currencyCode: currency,
    supportedNetworks: network ? all.filter((n) => n.toLowerCase() === network) : all,
    merchantCapabilities: ['supports3DS'],
    total: { label: 'Tessera Demo Shop', amount, type: 'final' },
  };
}

export interface InAppRun {
  merchant: InAppMerchant;
  device: ProvisionedDevice;
  merchantSession: Record<string, unknown>;
  token: PaymentToken;
}

/**
 * Flow 3 end to end up to the token the merchant receives: merchant registration, merchant validation
 * (mutual TLS), a provisioned simulated device, and the payment: Face ID, the platform's nonce, the
 * Secure Element's cryptogram and encrypted payment, the platform's PKPaymentToken.
 */
export async function runInApp(
  transport: Transport,
  options: { adminKey: string; validationUrl: string; rootPem: string; network?: NetworkName | undefined; merchantIdentifier?: string | undefined; amount: string; currency: string; rsa?: boolean; merchant?: InAppMerchant; device?: ProvisionedDevice },
  log: Log = silent,
): Promise<InAppRun> {
  const merchant = options.merchant ?? (await registerMerchant(transport, options.adminKey, { merchantIdentifier: options.merchantIdentifier, rsa: options.rsa ?? false }, log));
  const merchantSession = await validateMerchant(options.validationUrl, merchant, options.rootPem, { initiative: 'in_app', initiativeContext: 'Tessera Demo App' });
  log.step(`merchant validation over mutual TLS: merchant session ${String(merchantSession.merchantSessionIdentifier).slice(0, 12)}… (single use, 5 minutes)`);
  const device = options.device ?? (await runProvision(transport, { network: options.network }, log));
  const request = paymentRequest(options.amount, options.currency, device.network);
  const result = await device.wallet.payInApp({ merchantSession, request, cardId: device.cardId }, { biometric: 'match' });
  if (!result.ok) throw new Error(`the user was not verified: ${result.verification.reason}`);
  log.step('Face ID → Secure Enclave authorization; platform nonce; the SE makes the 20-byte online cryptogram (ATC + 1) and encrypts the payment for the platform');
  log.step(`platform redeemed the merchant session and produced a ${result.token.paymentData.version} token for ${merchant.merchantIdentifier} (transaction ${result.token.transactionIdentifier.slice(0, 16)}…)`);
  return { merchant, device, merchantSession, token: result.token };
}

import { AppError } from '../../infra/errors.js';
import { encodePaymentPayload, type PaymentPayload } from '../../protocol/paytoken/index.js';
import { Secret } from '../../protocol/secret.js';

type WithSecretPan<T> = T extends unknown ? Omit<T, 'applicationPrimaryAccountNumber'> & { applicationPrimaryAccountNumber: string | Secret } : never;

/**
 * The fields of a token's decrypted payload (the in-app flow collects them: device token, expiry,
 * amount, the Secure Element's cryptogram). The device token number may come in a Secret.
 */
export type PaymentPayloadFields = WithSecretPan<PaymentPayload>;

/**
 * The payload JSON with its keys in the order of real tokens:
 *   applicationPrimaryAccountNumber (the device token, never the card number), applicationExpirationDate
 *   (YYMMDD), currencyCode (ISO 4217 numeric string, "840"), transactionAmount (integer, minor units),
 *   cardholderName (optional), deviceManufacturerIdentifier (hex), paymentDataType ("3DSecure" | "EMV"),
 *   paymentData: { onlinePaymentCryptogram (base64, 20 bytes for Visa, 19 in the Mastercard fixture), eciIndicator (optional) } for 3DSecure,
 *                { emvData, encryptedPINData (optional) } for EMV;
 *   then authenticationResponses, merchantTokenIdentifier, merchantTokenMetadata when given.
 * The inputs are checked here (the caller's mistakes become parameter_invalid, naming the field, never
 * its value). Returned in a Secret because it holds the device token number; produceToken takes it as is.
 */
export function buildPayload(fields: PaymentPayloadFields): Secret {
  const pan = fields.applicationPrimaryAccountNumber;
  const dpan = pan instanceof Secret ? pan.reveal() : pan;
  check(typeof dpan === 'string' && /^[0-9]{12,19}$/.test(dpan), 'applicationPrimaryAccountNumber', 'must be 12 to 19 digits');
  check(/^[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])$/.test(String(fields.applicationExpirationDate)), 'applicationExpirationDate', 'must be a date as YYMMDD');
  check(/^[0-9]{3}$/.test(String(fields.currencyCode)), 'currencyCode', 'must be an ISO 4217 numeric code of 3 digits');
  check(Number.isSafeInteger(fields.transactionAmount) && fields.transactionAmount >= 0, 'transactionAmount', 'must be a non-negative integer in minor units');
  if (fields.cardholderName !== undefined) check(typeof fields.cardholderName === 'string' && fields.cardholderName.length <= 128, 'cardholderName', 'must be at most 128 characters');
  check(/^(?:[0-9A-Fa-f]{2})+$/.test(String(fields.deviceManufacturerIdentifier)), 'deviceManufacturerIdentifier', 'must be hex');

  let paymentData: PaymentPayload['paymentData'];
  if (fields.paymentDataType === '3DSecure') {
    const p = fields.paymentData;
    // Usually 20 bytes (Visa), but the real Mastercard fixture carries 19: any short base64 is accepted.
    const cryptogramBytes = isBase64(p?.onlinePaymentCryptogram) ? Buffer.from(p.onlinePaymentCryptogram, 'base64').length : 0;
    check(cryptogramBytes >= 8 && cryptogramBytes <= 64, 'paymentData.onlinePaymentCryptogram', 'must be base64 of 8 to 64 bytes');
    if (p.eciIndicator !== undefined) check(/^[0-9]{1,2}$/.test(String(p.eciIndicator)), 'paymentData.eciIndicator', 'must be 1 or 2 digits');
    // Inner keys too in the order of real tokens.
    paymentData = { onlinePaymentCryptogram: p.onlinePaymentCryptogram, ...(p.eciIndicator !== undefined ? { eciIndicator: p.eciIndicator } : {}) };
  } else if (fields.paymentDataType === 'EMV') {
    const p = fields.paymentData;
    check(isBase64(p?.emvData) && p.emvData.length > 0, 'paymentData.emvData', 'must be base64');
    if (p.encryptedPINData !== undefined) check(/^(?:[0-9A-Fa-f]{2})+$/.test(String(p.encryptedPINData)), 'paymentData.encryptedPINData', 'must be hex');
    paymentData = { emvData: p.emvData, ...(p.encryptedPINData !== undefined ? { encryptedPINData: p.encryptedPINData } : {}) };
  } else {
    return fail('paymentDataType', 'must be "3DSecure" or "EMV"');
  }
  const payload = { ...fields, applicationPrimaryAccountNumber: dpan, paymentData } as PaymentPayload;
  return new Secret(new TextDecoder().decode(encodePaymentPayload(payload)));
}

function isBase64(s: unknown): s is string {
  return typeof s === 'string' && /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s);
}

function check(ok: boolean, param: string, what: string): void {
  if (!ok) fail(param, what);
}

function fail(param: string, what: string): never {
  throw new AppError('parameter_invalid', { param, message: `${param} ${what}.` });
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../infra/errors.js';
import { merchantTokenFields, merchantTokenRequestOf } from './merchant-token.js';

const recurring = {
  paymentDescription: 'Monthly coffee',
  regularBilling: { label: 'Coffee', amount: '24.00', recurringPaymentIntervalUnit: 'month', recurringPaymentIntervalCount: 1 },
  managementURL: 'https://shop.example.com/account',
};

describe('merchant tokens: recurring, deferred and automatic-reload requests', () => {
  it('a one-off request has none; each kind is read with its terms', () => {
    assert.equal(merchantTokenRequestOf({ total: { label: 'x', amount: '1.00' } }), undefined);
    const r = merchantTokenRequestOf({ recurringPaymentRequest: recurring })!;
    assert.equal(r.type, 'recurring');
    assert.deepEqual(r.terms, { regularBilling: { label: 'Coffee', amount: '24.00', recurringPaymentIntervalUnit: 'month', recurringPaymentIntervalCount: 1 } });
    const d = merchantTokenRequestOf({ deferredPaymentRequest: { paymentDescription: 'Hotel', deferredBilling: { label: 'Stay', amount: '300.00', deferredPaymentDate: '2027-01-01' }, managementURL: 'https://hotel.example/manage' } })!;
    assert.equal(d.type, 'deferred');
    const a = merchantTokenRequestOf({ automaticReloadPaymentRequest: { paymentDescription: 'Transit card', automaticReloadBilling: { label: 'Top up', amount: '20.00', automaticReloadPaymentThresholdAmount: '5.00' }, managementURL: 'https://transit.example/manage' } })!;
    assert.equal(a.type, 'automaticReload');
  });

  it('mistakes name their field', () => {
    const refused = (request: Record<string, unknown>, param: string) =>
      assert.throws(() => merchantTokenRequestOf(request), (e: unknown) => e instanceof AppError && e.code === 'parameter_invalid' && e.param === param, param);
    refused({ recurringPaymentRequest: { ...recurring, managementURL: 'ftp://x' } }, 'request.recurringPaymentRequest.managementURL');
    refused({ recurringPaymentRequest: { ...recurring, paymentDescription: '' } }, 'request.recurringPaymentRequest.paymentDescription');
    refused({ recurringPaymentRequest: { ...recurring, regularBilling: { label: 'x', amount: '-1' } } }, 'request.recurringPaymentRequest.regularBilling');
    refused({ recurringPaymentRequest: recurring, deferredPaymentRequest: recurring }, 'request.deferredPaymentRequest');
    refused({ recurringPaymentRequest: 'monthly' }, 'request.recurringPaymentRequest');
  });

  it('the identifier is stable for one card at one merchant and differs otherwise', () => {
    const r = merchantTokenRequestOf({ recurringPaymentRequest: recurring })!;
    const a = merchantTokenFields(r, 'card_1', 'merchant.com.a');
    assert.equal(merchantTokenFields(r, 'card_1', 'merchant.com.a').merchantTokenIdentifier, a.merchantTokenIdentifier);
    assert.notEqual(merchantTokenFields(r, 'card_2', 'merchant.com.a').merchantTokenIdentifier, a.merchantTokenIdentifier);
    assert.notEqual(merchantTokenFields(r, 'card_1', 'merchant.com.b').merchantTokenIdentifier, a.merchantTokenIdentifier);
    assert.equal(a.merchantTokenMetadata.merchantTokenType, 'recurring');
    assert.equal(a.merchantTokenMetadata.managementURL, 'https://shop.example.com/account');
  });
});

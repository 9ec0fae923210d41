/// <reference types="applepayjs" />
/**
 * A merchant's checkout page written only against @types/applepayjs (Apple's API as DefinitelyTyped
 * describes it, version 14, the newest), importing nothing of Tessera: it must type-check, and run
 * unchanged on the platform's ApplePaySession script (/applepay/v1/apple-pay.js). Type-checked by
 * `npm run typecheck`; bundled and run by test/browser/applepay-pages.test.ts (f).
 */

export function checkout(button: HTMLElement, merchantIdentifier: string): void {
  if (!('ApplePaySession' in window) || !ApplePaySession.canMakePayments() || !ApplePaySession.supportsVersion(14)) {
    button.hidden = true;
    return;
  }
  void ApplePaySession.canMakePaymentsWithActiveCard(merchantIdentifier).then((active) => {
    button.hidden = !active;
  });

  button.addEventListener('click', () => {
    const request: ApplePayJS.ApplePayPaymentRequest = {
      countryCode: 'US',
      currencyCode: 'USD',
      merchantCapabilities: ['supports3DS', 'supportsCredit', 'supportsDebit'],
      supportedNetworks: ['visa', 'masterCard', 'amex', 'discover'],
      total: { label: 'Tessera Coffee', amount: '4.50', type: 'final' },
      lineItems: [{ label: 'Latte', amount: '4.50' }],
      requiredBillingContactFields: ['postalAddress'],
      applicationData: btoa(JSON.stringify({ order: 'ord_123' })),
      supportsCouponCode: true,
      couponCode: 'WELCOME',
      recurringPaymentRequest: {
        paymentDescription: 'Tessera Coffee club',
        regularBilling: { label: 'Latte every month', amount: '4.50', paymentTiming: 'recurring', recurringPaymentIntervalUnit: 'month', recurringPaymentIntervalCount: 1 },
        managementURL: `${window.location.origin}/account`,
      },
    };
    const session = new ApplePaySession(14, request);

    session.onvalidatemerchant = async (event: ApplePayJS.ApplePayValidateMerchantEvent) => {
      // The merchant's own server posts to event.validationURL over mutual TLS and relays the session.
      const res = await fetch('/api/apple-pay/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ validationURL: event.validationURL }) });
      if (!res.ok) {
        session.abort();
        return;
      }
      session.completeMerchantValidation(await res.json());
    };

    session.onpaymentmethodselected = (event: ApplePayJS.ApplePayPaymentMethodSelectedEvent) => {
      const update: ApplePayJS.ApplePayPaymentMethodUpdate = {
        newTotal: { label: 'Tessera Coffee', amount: event.paymentMethod.type === 'debit' ? '4.40' : '4.50' },
      };
      session.completePaymentMethodSelection(update);
    };

    session.oncouponcodechanged = (event: ApplePayJS.ApplePayCouponCodeChangedEvent) => {
      const update: ApplePayJS.ApplePayCouponCodeUpdate =
        event.couponCode === 'WELCOME'
          ? { newTotal: { label: 'Tessera Coffee', amount: '4.00' }, newLineItems: [{ label: 'Latte', amount: '4.50' }, { label: 'Welcome discount', amount: '-0.50' }] }
          : { newTotal: request.total, errors: [new ApplePayError('couponCodeInvalid')] };
      session.completeCouponCodeChange(update);
    };

    session.onshippingmethodselected = (event: ApplePayJS.ApplePayShippingMethodSelectedEvent) => {
      session.completeShippingMethodSelection({ newTotal: { label: 'Tessera Coffee', amount: event.shippingMethod.amount } });
    };

    session.onpaymentauthorized = async (event: ApplePayJS.ApplePayPaymentAuthorizedEvent) => {
      const payment: ApplePayJS.ApplePayPayment = event.payment;
      const token: ApplePayJS.ApplePayPaymentToken = payment.token;
      const billing: ApplePayJS.ApplePayPaymentContact | undefined = payment.billingContact;
      const res = await fetch('/api/apple-pay/pay', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, method: token.paymentMethod.network, postalCode: billing?.postalCode }) });
      if (res.ok) {
        session.completePayment({ status: ApplePaySession.STATUS_SUCCESS });
        button.dataset.state = 'paid';
      } else {
        const errors = [new ApplePayError('billingContactInvalid', 'postalCode', 'Check the postal code')];
        session.completePayment({ status: ApplePaySession.STATUS_FAILURE, errors });
      }
    };

    session.oncancel = () => {
      button.dataset.state = 'cancelled';
    };

    session.begin();
  });
}

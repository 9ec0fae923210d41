import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../infra/errors.js';
import { parseStartSession } from './service.js';
import { appleAnswer } from './validation-server.js';

const id = 'merchant.com.example.shop';

function refused(body: unknown, param: string | undefined): void {
  assert.throws(
    () => parseStartSession(body),
    (err: unknown) => err instanceof AppError && (param === undefined ? err.code === 'body_invalid' : err.code === 'parameter_invalid' && err.param === param),
    JSON.stringify(body),
  );
}

describe('merchant validation: the request shapes merchants send', () => {
  it("Apple's current shape: initiative and initiativeContext", () => {
    assert.deepEqual(parseStartSession({ merchantIdentifier: id, displayName: 'Shop', initiative: 'web', initiativeContext: 'shop.example.com' }), {
      merchantIdentifier: id,
      displayName: 'Shop',
      initiative: 'web',
      initiativeContext: 'shop.example.com',
    });
    assert.equal(parseStartSession({ merchantIdentifier: id, displayName: 'App', initiative: 'in_app', initiativeContext: 'Shop App' }).initiative, 'in_app');
  });

  it('the original shape { merchantIdentifier, domainName, displayName } is a web session for domainName', () => {
    assert.deepEqual(parseStartSession({ merchantIdentifier: id, domainName: 'shop.example.com', displayName: 'Shop' }), {
      merchantIdentifier: id,
      displayName: 'Shop',
      initiative: 'web',
      initiativeContext: 'shop.example.com',
    });
    // Mixed: initiative "web" with domainName only; both domains given → initiativeContext wins.
    assert.equal(parseStartSession({ merchantIdentifier: id, displayName: 'Shop', initiative: 'web', domainName: 'a.example.com' }).initiativeContext, 'a.example.com');
    assert.equal(parseStartSession({ merchantIdentifier: id, displayName: 'Shop', domainName: 'a.example.com', initiativeContext: 'b.example.com' }).initiativeContext, 'b.example.com');
  });

  it('each mistake names its field', () => {
    refused([1], undefined);
    refused(null, undefined);
    refused({ domainName: 'shop.example.com', displayName: 'Shop' }, 'merchantIdentifier');
    refused({ merchantIdentifier: 'not-an-identifier!', domainName: 'shop.example.com', displayName: 'Shop' }, 'merchantIdentifier');
    refused({ merchantIdentifier: id, domainName: 'shop.example.com' }, 'displayName');
    refused({ merchantIdentifier: id, domainName: 'shop.example.com', displayName: 'x'.repeat(65) }, 'displayName');
    refused({ merchantIdentifier: id, displayName: 'Shop' }, 'initiative');
    refused({ merchantIdentifier: id, displayName: 'Shop', domainName: '' }, 'domainName');
    refused({ merchantIdentifier: id, displayName: 'Shop', domainName: 42 }, 'domainName');
    refused({ merchantIdentifier: id, displayName: 'Shop', initiative: 'kiosk', initiativeContext: 'x' }, 'initiative');
    refused({ merchantIdentifier: id, displayName: 'Shop', initiative: 'web' }, 'initiativeContext');
    refused({ merchantIdentifier: id, displayName: 'Shop', initiative: 'in_app', domainName: 'shop.example.com' }, 'initiativeContext');
  });

  it("answers carry Apple's statusCode and statusMessage beside the platform's error", () => {
    const body = appleAnswer(new AppError('parameter_invalid', { param: 'domainName' }), 'req_1') as { statusCode: string; statusMessage: string; error: { code: string; param: string } };
    assert.equal(body.statusCode, '400');
    assert.match(body.statusMessage, /^Payment Services Exception/);
    assert.equal(body.error.code, 'parameter_invalid');
    assert.equal(body.error.param, 'domainName');
    const domain = appleAnswer(new AppError('merchant_domain_unverified', { param: 'domainName' }), 'req_2') as { statusCode: string; statusMessage: string };
    assert.equal(domain.statusCode, '403');
    assert.match(domain.statusMessage, /not registered for this domain/);
  });
});

describe('the ApplePaySession script', () => {
  it('bundles for the browsers it targets (esbuild refuses syntax it cannot lower)', async () => {
    const { bundleApplePayScript } = await import('./applepay-script.js');
    const code = await bundleApplePayScript();
    assert.match(code, /ApplePaySession/);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartyError, PartyUnavailable } from '../infra/transport.js';
import { describeError, scrubMessage } from './errors.js';

test('an internal error names the party, the call and the error code of a PartyError', () => {
  const err = new PartyError(409, { error: { type: 'invalid_request_error', code: 'busy_retry', message: 'Retry.', request_id: 'req_1' } }, 'issuer:iss_visa', 'POST /issuer/iss_visa/v1/cards');
  assert.equal(describeError(err), 'PartyError (party issuer:iss_visa, call POST /issuer/iss_visa/v1/cards, status 409, code busy_retry): Retry.');
  assert.equal(describeError(new PartyUnavailable('network:visa', 'timeout')), 'PartyUnavailable (party network:visa): network:visa unavailable: timeout');
});

test('a system error names its code and call; a cause is named too', () => {
  const sys = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port: 1 });
  assert.equal(describeError(sys), 'Error (code ECONNREFUSED, connect 127.0.0.1:1): connect ECONNREFUSED 127.0.0.1:1');
  const wrapped = new TypeError('fetch failed', { cause: sys });
  assert.match(describeError(wrapped), /^TypeError: fetch failed; cause: Error \(code ECONNREFUSED, connect 127\.0\.0\.1:1\)/);
  assert.equal(describeError('just a string'), 'a string was thrown');
});

test('no card number, key, password or key material reaches the line', () => {
  const line = describeError(new Error('card 4111111111111111 key tsk_admin_AbCdEf0123456789AbCdEf0123456789 at postgres://u:hunter2@db/x mk 0123456789ABCDEFFEDCBA9876543210\nsecond line'));
  assert.doesNotMatch(line, /4111111111111111|AbCdEf0123456789|hunter2|0123456789ABCDEF|second line/);
  assert.equal(scrubMessage('postgres://u:hunter2@db/x'), 'postgres://u:***@db/x');
});

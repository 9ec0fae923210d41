import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { Secret } from '../../src/protocol/secret.js';
import { captureLogger } from '../helpers/env.js';

describe('secrets never print', () => {
  it('masks a card number through String, JSON, template literals and inspect', () => {
    const pan = Secret.pan('4111111111111111');
    assert.equal(String(pan), '411111******1111');
    assert.equal(`${pan}`, '411111******1111');
    assert.equal(JSON.stringify({ pan }), '{"pan":"411111******1111"}');
    assert.doesNotMatch(inspect({ nested: { pan } }, { depth: 5 }), /4111111111111111/);
    assert.equal(pan.reveal(), '4111111111111111');
    assert.equal(String(new Secret('123')), '[redacted]');
  });

  it('redacts sensitive fields in logs as a second layer', () => {
    const { logger, lines } = captureLogger('info');
    logger.info({ pan: '4111111111111111', card: { cvv: '123', number: Secret.pan('5555555555554444') }, password: 'hunter2', req: { headers: { authorization: 'Bearer tsk_admin_x' } } }, 'hello');
    const text = lines.join('');
    for (const leak of ['4111111111111111', '5555555555554444', 'hunter2', 'tsk_admin_x', '"123"']) assert.equal(text.includes(leak), false, leak);
    assert.match(text, /\[redacted\]/);
  });
});

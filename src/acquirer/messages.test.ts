import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex } from '../protocol/bytes.js';
import { TOKEN_BIN_RANGES } from '../protocol/cards/index.js';
import { build0100, token, UNROUTABLE } from './acquirer.test-helper.js';
import { currencyAlpha } from './currencies.js';
import { localResponse, logView, originalDataElements, parseOriginalDataElements, retrievalReference, traceNumber, transmissionDateTime, withoutSensitiveData } from './messages.js';
import { brandForPan } from './routing.js';
import { nameLocation } from './service.js';

const terminal = { terminal_id: 'COFFEE01', card_acceptor_id: 'TSSCORNERCOFFEE' };

describe('acquirer message shaping', () => {
  it('DE 7 is MMDDhhmmss in UTC', () => {
    assert.equal(transmissionDateTime(new Date('2026-06-15T09:08:07.999Z')), '0615090807');
    assert.equal(transmissionDateTime(new Date('2026-12-31T23:59:59Z')), '1231235959');
  });

  it('RRNs: year digit, day of year, eight counter digits; STANs wrap at a million', () => {
    assert.equal(retrievalReference(new Date('2026-01-01T00:00:00Z'), 1), '600100000001');
    assert.equal(retrievalReference(new Date('2028-12-31T23:00:00Z'), 123_456_789), '836623456789');
    assert.equal(traceNumber(1), '000001');
    assert.equal(traceNumber(1_000_007), '000007');
  });

  it('DE 90 is 42 digits and parses back', () => {
    const de90 = originalDataElements({ mti: '0100', stan: '000123', transmitted: '0615120000', acquirerId: '000001', forwardingId: '0' });
    assert.equal(de90, '0100000123061512000000000000001' + '00000000000');
    assert.equal(de90.length, 42);
    assert.deepEqual(parseOriginalDataElements(de90), { mti: '0100', stan: '000123', transmitted: '0615120000', acquirerId: '00000000001', forwardingId: '00000000000' });
    assert.equal(parseOriginalDataElements('0100'), null);
    assert.equal(parseOriginalDataElements('x'.repeat(42)), null);
  });

  it('routes every token BIN to its network, card BINs by the network table, nothing else', () => {
    for (const [network, range] of Object.entries(TOKEN_BIN_RANGES)) {
      assert.equal(brandForPan(token(network as keyof typeof TOKEN_BIN_RANGES)), network);
      assert.ok(token(network as keyof typeof TOKEN_BIN_RANGES).startsWith(range.bin));
    }
    assert.equal(brandForPan('4111111111111111'), 'visa');
    assert.equal(brandForPan('378282246310005'), 'amex');
    assert.equal(brandForPan('6011111111111117'), 'discover');
    assert.equal(brandForPan('2223003122003222'), 'mastercard');
    assert.equal(brandForPan(UNROUTABLE), null);
    assert.equal(brandForPan('4111111111111112'), null, 'bad Luhn');
    assert.equal(brandForPan('41111111'), null);
  });

  it('a log view shows DE 2 masked and no DE 55, 35, 48 or 52 at all', () => {
    const pan = token('visa');
    const msg = build0100({ pan, terminal, extra: { 35: `${pan}D30122010000000000`, 48: '2603TSW', 52: fromHex('0102030405060708') } });
    const view = logView(msg);
    const text = JSON.stringify(view);
    assert.equal(view.fields['2'], `${pan.slice(0, 6)}******${pan.slice(-4)}`);
    assert.ok(!text.includes(pan));
    for (const n of ['35', '48', '52', '55']) assert.equal(view.fields[n], undefined, n);
    assert.ok(typeof view.de55_bytes === 'number' && view.de55_bytes > 0);
    assert.equal(withoutSensitiveData(msg).fields[55], undefined);
    assert.equal(withoutSensitiveData(msg).fields[35], undefined);
    assert.equal(withoutSensitiveData(msg).fields[52], undefined);
  });

  it("a local answer echoes the request's keys and never its ICC data", () => {
    const msg = build0100({ terminal, extra: { 37: 'ABC123456789' } });
    const r = localResponse(msg, '0110', '94');
    assert.equal(r.mti, '0110');
    assert.equal(r.fields[39], '94');
    for (const n of [2, 3, 4, 7, 11, 37, 41, 42, 49]) assert.equal(r.fields[n], msg.fields[n], `DE ${n}`);
    for (const n of [14, 18, 22, 23, 35, 43, 55]) assert.equal(r.fields[n], undefined, `DE ${n}`);
  });

  it('DE 43 is name (25), city (13), country (2); currencies map both ways', () => {
    assert.equal(nameLocation('A very long merchant name indeed', 'San Francisco', 'US'), 'A very long merchant nameSan FranciscoUS');
    assert.equal(nameLocation('Café', 'Köln', 'DE'), `${'Caf?'.padEnd(25)}${'K?ln'.padEnd(13)}DE`);
    assert.equal(currencyAlpha('840'), 'USD');
    assert.equal(currencyAlpha('036'), 'AUD');
    assert.equal(currencyAlpha('999'), '999');
  });
});

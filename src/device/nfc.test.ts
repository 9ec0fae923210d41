import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectPpse } from '../protocol/apdu/apdu.js';
import { fromHex, toHex } from '../protocol/bytes.js';
import { paymentDevice } from './applet.test-helper.js';
import { seLink, tracingLink, type ApduLink, type ApduTrace } from './nfc.js';

describe('NFC link', () => {
  it('seLink carries APDUs to the SE and back, copying both ways', async () => {
    const seen: Uint8Array[] = [];
    const answer = fromHex('6F009000');
    const link = seLink({
      async processApdu(command) {
        seen.push(command);
        return answer;
      },
    });
    const command = fromHex('00A404000E325041592E5359532E444446303100');
    const response = await link.transceive(command);
    assert.equal(toHex(response), '6F009000');
    command[0] = 0xff;
    response[0] = 0xff;
    assert.equal(seen[0]![0], 0x00, 'the SE does not share the reader buffer');
    assert.equal(answer[0], 0x6f, 'the reader does not share the SE buffer');
  });

  it('seLink talks to a real Secure Element', async () => {
    const d = await paymentDevice();
    await d.se.prepareContactless(d.cards.visa.tokenRef, null);
    const response = await seLink(d.se).transceive(selectPpse());
    assert.equal(toHex(response.slice(-2)), '9000');
    assert.ok(toHex(response).includes('A0000000031010'));
  });

  it('tracingLink reports each command and response as trace lines, in order', async () => {
    const traces: ApduTrace[] = [];
    const inner: ApduLink = { transceive: async (c) => Uint8Array.of(c[1]!, 0x90, 0x00) };
    const link = tracingLink(inner, (t) => traces.push(t));
    assert.equal(toHex(await link.transceive(fromHex('00A4040000'))), 'A49000');
    assert.equal(toHex(await link.transceive(fromHex('80A80000028300'))), 'A89000');
    assert.deepEqual(traces, [
      { protocol: 'apdu', from: 'terminal', to: 'device', hex: '00A4040000' },
      { protocol: 'apdu', from: 'device', to: 'terminal', hex: 'A49000' },
      { protocol: 'apdu', from: 'terminal', to: 'device', hex: '80A80000028300' },
      { protocol: 'apdu', from: 'device', to: 'terminal', hex: 'A89000' },
    ]);
  });

  it('a throwing trace callback does not break the tap; a failing link still fails', async () => {
    const link = tracingLink({ transceive: async () => fromHex('9000') }, () => {
      throw new Error('disk full');
    });
    assert.equal(toHex(await link.transceive(fromHex('00A4040000'))), '9000');
    const traces: ApduTrace[] = [];
    const broken = tracingLink(
      {
        transceive: async () => {
          throw new Error('tag lost');
        },
      },
      (t) => traces.push(t),
    );
    await assert.rejects(broken.transceive(fromHex('00A4040000')), /tag lost/);
    assert.equal(traces.length, 1, 'the command was reported, no response');
  });
});

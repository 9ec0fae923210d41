/**
 * The published EMV test vectors (pyemv's test suite, as listed in docs/reference/emv-contactless.md), as hex, for
 * tests across the project. IAD (9F10) values are built to the layouts this project uses.
 */
export const EMV_VECTORS = {
  imk: '0123456789ABCDEFFEDCBA9876543210',
  pan: '1234567890123456',
  psn: '00',
  mk: '154F349D8585CB7F6B0798E9839B10C1',
  mkKcv: 'BAB0',
  atc: '001C',
  visa: {
    icc: {
      '9F02': '000000004000', '9F03': '000000000000', '9F1A': '0124', '95': '8000048000', '5F2A': '0124',
      '9A': '191105', '9C': '01', '9F37': '52BF4585', '82': '1800', '9F36': '001C',
    },
    cvn10: { iad: '06010A03A06010', cvr: '03A06010', arqc: '29CCA15AE665FA2E', arc: '3030', arpc: '28993816AFAE4AEB' },
    cvn18: {
      iad: '06011203A0B800',
      sk: '436B942AD637E08564B532B0EC97CB26',
      skKcv: '22C8',
      arqc: '7A788EA6B8A3E733',
      csu: '00000000',
      arpc: '9AF514C1',
    },
  },
  mastercard: {
    icc: {
      '9F02': '000000009999', '9F03': '000000000000', '9F1A': '0124', '95': '8000000000', '5F2A': '0124',
      '9A': '209906', '9C': '00', '9F37': 'ABCDEF12', '82': '1800', '9F36': '001C',
    },
    cvr: 'A00003220000',
    arc: '0010',
    cvn16: { iad: '0110A000032200000000', skKcv: '2FD5', arqc: '24CCF3DEE3158C70', arpc: '73F6BBF389A6586C' },
    cvn20: { iad: '0114A000032200000000', skKcv: '22C8', arqc: 'CD29615D6452E70E', arpc: 'DFD0956606B68D64' },
  },
  sessionKeyAlone: { mk: '0123456789ABCDEFFEDCBA9876543210', r: '001C000000000000', sk: 'E9FB384AF807B940FEDCEA613461B0C4' },
  macAlone: {
    key: 'AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB',
    data: '000000002000' + '000000000000' + '0124' + '0000008000' + '0124' + '110309' + '00' + '3804823E' + '5800' + '0001',
    mac: '3B76CF10FECD8789',
  },
} as const;

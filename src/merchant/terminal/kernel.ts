/**
 * The contactless kernel of a Tessera payment terminal: talks to the card (the phone's payment
 * applet) over an ApduLink, decides the CVM, and builds the ISO 8583 0100 the terminal sends to its
 * acquirer (docs/authorization.md). Pure TypeScript with no I/O of its own: it runs in Node and in
 * the browser terminal page; the clock, the random source and the STAN counter are injected.
 *
 * ## A transaction
 * 1. SELECT PPSE; the FCI's application entries (61: 4F AID, 87 priority) filtered to the AIDs the
 *    terminal supports (a card AID that starts with a supported one), highest priority first (87 low
 *    nibble 1 = highest, 0 = none = lowest).
 * 2. SELECT AID, trying the next candidate when one fails; the FCI gives the PDOL (9F38).
 * 3. GET PROCESSING OPTIONS with the PDOL data: TTQ (9F66), amount (9F02), amount other (9F03, zero),
 *    terminal country (9F1A), TVR (95), currency (5F2A), date YYMMDD (9A), type (9C `00`), a fresh
 *    unpredictable number (9F37, from the CSPRNG), MCC (9F15), merchant name (9F4E).
 * 4. - Answer with a cryptogram (Visa qVSDC and the Tessera Amex/Discover profile): done.
 *    - Answer with an AFL (Mastercard, Kernel 2 style): READ RECORD for each AFL entry, then GENERATE AC
 *      (P1 `80`, ARQC) with the CDOL1 data (adds 9F35, 9F45, 9F4C, 9F34 CVM results, 9F21 time, 9F7C).
 * 5. CVM (amounts strictly above `cvmLimit` need a CVM; the only CVM this terminal knows is the phone's
 *    consumer-device CVM, TTQ byte 3 bit `40`):
 *    - qVSDC: CDCVM when the card's CTQ (9F6C) byte 2 bit `80` is set.
 *    - Mastercard: the kernel asks for it in CDOL1's 9F34 when the AIP says the card supports on-device
 *      CVM (byte 1 bit `02`); an ARQC then means the phone performed it; an AAC means it did not.
 *    Above the limit without CDCVM the kernel declines OFFLINE (`declined_offline`, `cvm_required`)
 *    and does not go online: the phone shows "see phone", the customer authenticates and taps again.
 *    (A real reader may instead go online and let the issuer answer 55; declining here saves the round
 *    trip and never sends an authorization that would be refused for it.)
 * 6. The 0100, with DE55 holding the chip data (list below), never 56, 57, 5A, 5F20, 5F24.
 *
 * CVM results (9F34) this kernel reports: `010002` consumer-device CVM performed (code 01, the Kernel
 * 2 convention for on-device CVM, result 02 successful); `1F0002` no CVM required (amount at or below
 * the CVM limit, no CDCVM).
 *
 * TVR (95): `8000000000`, "offline data authentication was not performed" (the phone offers none).
 *
 * Everything the card answers is checked: a misbehaving card makes a KernelError (card_read_failed,
 * card_data_invalid, no_application, link_failed), never an untyped exception; values never reach a
 * message.
 */
import { SW, generateAc, getProcessingOptions, parseResponse, readRecord, selectByName, selectPpse } from '../../protocol/apdu/apdu.js';
import { bytesEqual, fromHex, isHex, toHex, utf8 } from '../../protocol/bytes.js';
import { luhnCheck, type Network } from '../../protocol/cards/index.js';
import { cryptogramInput } from '../../protocol/emv/index.js';
import { ProtocolError } from '../../protocol/errors.js';
import { packMessage, unpackMessage, type IsoMessage } from '../../protocol/iso8583/iso8583.js';
import { buildDolData, parseDol, splitDolData, type DolEntry } from '../../protocol/tlv/dol.js';
import { buildTlv, parseTlv, tlv, tlvToMap, type TlvNode } from '../../protocol/tlv/tlv.js';
import { KernelError } from './errors.js';

/** What the kernel needs of the NFC link (src/device/nfc.ts ApduLink has this shape). */
export interface ApduLink {
  transceive(command: Uint8Array): Promise<Uint8Array>;
}

export interface KernelConfig {
  /** DE41: exactly 8 printable characters. */
  terminalId: string;
  /** DE42: exactly 15 printable characters. */
  merchantId: string;
  /** The merchant's name: DE43 positions 1-25 and 9F4E (the first 20 characters, shown on the phone). 1 to 25 printable characters. */
  merchantName: string;
  /** DE43 positions 26-38: up to 13 printable characters (default empty). */
  merchantCity?: string;
  /** DE43 positions 39-40: ISO 3166 alpha-2 (default `US`). */
  merchantCountry?: string;
  /** DE18 and 9F15: 4 digits. */
  mcc: string;
  /** 9F1A: ISO 3166 numeric, 3 digits or 4 with a leading 0 (`840`, `0840`). */
  countryCode: string;
  /** 5F2A and DE49: ISO 4217 numeric, 3 digits or 4 with a leading 0. */
  currencyCode: string;
  /** ISO 4217 alphabetic, for display (`USD`). */
  currencyAlpha: string;
  /**
   * 9F66, 8 hex digits. Default `20804000`: qVSDC supported, online cryptogram required, consumer-device
   * CVM supported (byte 3 bit `40`). The kernel sets byte 2 bit `40` (CVM required) above the CVM limit.
   */
  ttq?: string;
  /** 9F35, 2 digits (default `22`: attended, merchant, online only). */
  terminalType?: string;
  /** 9F33, 6 hex digits (default `000800`: no CVM required supported). */
  capabilities?: string;
  /** Minor units; amounts above it need a CVM (default 5000). */
  cvmLimit?: number;
  /** Milliseconds since the epoch (default Date.now). */
  clock?: () => number;
  /** Local time offset from UTC for DE12/DE13, 9A and 9F21 (default 0). */
  utcOffsetMinutes?: number;
  /** Random bytes for the unpredictable number (default crypto.getRandomValues). */
  random?: (n: number) => Uint8Array;
  /** The next STAN (1 to 999999) for an online message (default: a counter from 1 in this kernel). */
  stan?: () => number;
  /** AIDs the terminal accepts, hex (default Visa, Mastercard, American Express, Discover). */
  aids?: readonly string[];
}

export interface TransactionRequest {
  /** Minor units, 1 to 999999999999. */
  amount: number;
  type?: 'purchase';
}

/** One command and its answer, hex (the answer with its status word). */
export interface ApduExchange {
  command: string;
  response: string;
}

/** What the terminal may show about the card (nothing secret). */
export interface CardSummary {
  aid: string;
  network: Network | null;
  label: string | null;
  /** Last four digits of the (token) card number, once read. */
  panLast4: string | null;
  /** The ATC of the cryptogram, once made. */
  atc: number | null;
}

export type KernelOutcome =
  | {
      kind: 'online';
      request: IsoMessage;
      packed: Uint8Array;
      apdus: ApduExchange[];
      cdcvm: boolean;
      card: CardSummary;
      amount: number;
      currency: string;
    }
  | {
      kind: 'declined_offline';
      /** `cvm_required`: above the CVM limit without CDCVM; `card_declined`: the card refused (AAC, or `6985` to GPO). */
      reason: 'cvm_required' | 'card_declined';
      apdus: ApduExchange[];
      cdcvm: false;
      card: CardSummary;
      amount: number;
      currency: string;
    };

export interface AuthorizationResult {
  approved: boolean;
  /** DE39. */
  responseCode: string;
  /** What to show, from the DE39 list of docs/authorization.md. */
  reason: string;
  /** DE38 of an approval, else null. */
  authCode: string | null;
  /** Issuer authentication data (DE55 tag 91, the ARPC), hex, when the answer carries it. */
  issuerAuthenticationData: string | null;
}

/** Supported applications, by AID. */
export const KERNEL_AIDS: Readonly<Record<string, Network>> = {
  A0000000031010: 'visa',
  A0000000041010: 'mastercard',
  A00000002501: 'amex',
  A0000001523010: 'discover',
};

/** DE39 meanings (docs/authorization.md). */
export const RESPONSE_CODES: Readonly<Record<string, string>> = {
  '00': 'approved',
  '05': 'do not honour',
  '12': 'invalid transaction',
  '13': 'invalid amount',
  '14': 'unknown token or card number',
  '51': 'insufficient funds',
  '54': 'expired card',
  '55': 'cardholder verification required',
  '57': 'not permitted',
  '61': 'exceeds amount limit',
  '62': 'restricted card',
  '63': 'security violation',
  '88': 'cryptographic failure',
  '91': 'issuer or network unavailable',
  '94': 'duplicate transmission',
  '96': 'system malfunction',
};

/** DE55 tags, in this order; 9F6C and 9F66 only when present (docs/authorization.md). */
export const DE55_TAGS: readonly string[] = [
  '82', '95', '9A', '9C', '5F2A', '5F34', '9F02', '9F03', '9F10', '9F1A', '9F26', '9F27', '9F33', '9F34', '9F35', '9F36', '9F37',
];
const DE55_OPTIONAL_TAGS: readonly string[] = ['9F6C', '9F66'];
/** Tags that must never travel in DE55. */
export const DE55_FORBIDDEN_TAGS: readonly string[] = ['56', '57', '5A', '5F20', '5F24'];

export const CVM_RESULTS_CDCVM = '010002';
export const CVM_RESULTS_NO_CVM = '1F0002';
const TVR = '8000000000';
const MAX_RECORDS = 32;
const MAX_AMOUNT = 999_999_999_999;
/** The terminal's values a cryptogram is computed over, with their lengths. */
const TERMINAL_CRYPTOGRAM_TAGS: Readonly<Record<string, number>> = {
  '9F02': 6, '9F03': 6, '9F1A': 2, '95': 5, '5F2A': 2, '9A': 3, '9C': 1, '9F37': 4,
};

interface ResolvedConfig {
  terminalId: string;
  merchantId: string;
  merchantName: string;
  nameLocation: string;
  mcc: string;
  country: string;
  currency: string;
  currencyAlpha: string;
  ttq: Uint8Array;
  terminalType: string;
  capabilities: Uint8Array;
  cvmLimit: number;
  clock: () => number;
  utcOffsetMinutes: number;
  random: (n: number) => Uint8Array;
  stan: () => number;
  aids: Uint8Array[];
}

export class ContactlessKernel {
  readonly #config: ResolvedConfig;

  constructor(config: KernelConfig) {
    this.#config = resolveConfig(config);
  }

  /** Runs a tap over `link` and answers either an online request to send or an offline decline. */
  async transact(link: ApduLink, request: TransactionRequest): Promise<KernelOutcome> {
    const amount = request?.amount;
    if (!Number.isSafeInteger(amount) || amount < 1 || amount > MAX_AMOUNT) {
      throw new KernelError('request_invalid', `amount must be an integer of minor units from 1 to ${MAX_AMOUNT}`);
    }
    if (request.type !== undefined && request.type !== 'purchase') throw new KernelError('request_invalid', 'only purchases are supported');
    const tx = new Transaction(this.#config, link, amount);
    try {
      return await tx.run();
    } catch (err) {
      if (err instanceof KernelError) throw err;
      if (err instanceof ProtocolError) throw new KernelError('card_read_failed', 'the card answered data that does not parse', { cause: err });
      throw err;
    }
  }

  /** Reads the 0110 (message or packed bytes); with the request, checks it answers that request. */
  interpretResponse(response: IsoMessage | Uint8Array, request?: IsoMessage): AuthorizationResult {
    let message: IsoMessage;
    try {
      message = response instanceof Uint8Array ? unpackMessage(response) : response;
    } catch (err) {
      throw new KernelError('response_invalid', 'the authorization response does not parse', { cause: err });
    }
    if (typeof message !== 'object' || message === null || message.mti !== '0110' || typeof message.fields !== 'object' || message.fields === null) {
      throw new KernelError('response_invalid', 'the authorization response is not a 0110');
    }
    const f = message.fields;
    const code = f[39];
    if (typeof code !== 'string' || !/^[0-9A-Z]{2}$/.test(code)) throw new KernelError('response_invalid', 'the authorization response has no response code');
    if (request) {
      for (const de of [11, 41, 42]) {
        if (f[de] !== undefined && f[de] !== request.fields[de]) throw new KernelError('response_invalid', `the authorization response DE${de} does not match the request`);
      }
      if (f[11] === undefined) throw new KernelError('response_invalid', 'the authorization response carries no STAN');
      if (f[4] !== undefined && f[4] !== request.fields[4]) throw new KernelError('response_invalid', 'the authorization response amount does not match the request');
    }
    const approved = code === '00';
    const authCode = approved && typeof f[38] === 'string' && /^[0-9A-Za-z ]{6}$/.test(f[38]) ? f[38] : null;
    let issuerAuthenticationData: string | null = null;
    if (f[55] instanceof Uint8Array) {
      try {
        const tag91 = tlvToMap(parseTlv(f[55])).get('91');
        if (tag91) issuerAuthenticationData = toHex(tag91);
      } catch {
        throw new KernelError('response_invalid', 'the authorization response ICC data does not parse');
      }
    }
    return { approved, responseCode: code, reason: RESPONSE_CODES[code] ?? `declined (code ${code})`, authCode, issuerAuthenticationData };
  }
}

/** One tap: the dialogue state. */
class Transaction {
  readonly apdus: ApduExchange[] = [];
  readonly card: CardSummary = { aid: '', network: null, label: null, panLast4: null, atc: null };

  constructor(
    readonly config: ResolvedConfig,
    readonly link: ApduLink,
    readonly amount: number,
  ) {}

  async run(): Promise<KernelOutcome> {
    const c = this.config;
    const cvmRequired = this.amount > c.cvmLimit;
    const selected = await this.#selectApplication();
    const now = c.clock();
    if (!Number.isFinite(now)) throw new KernelError('config_invalid', 'the clock gave no time');
    const local = new Date(now + c.utcOffsetMinutes * 60_000);
    const ttq = Uint8Array.from(c.ttq);
    if (cvmRequired) ttq[1]! |= 0x40;
    const un = c.random(4);
    if (!(un instanceof Uint8Array) || un.length !== 4) throw new KernelError('config_invalid', 'the random source gave the wrong number of bytes');

    const values = new Map<string, Uint8Array>([
      ['9F66', ttq],
      ['9F02', fromHex(String(this.amount).padStart(12, '0'))],
      ['9F03', new Uint8Array(6)],
      ['9F1A', fromHex(c.country)],
      ['95', fromHex(TVR)],
      ['5F2A', fromHex(c.currency)],
      ['9A', fromHex(yymmdd(local))],
      ['9C', Uint8Array.of(0x00)],
      ['9F37', Uint8Array.from(un)],
      ['9F15', fromHex(c.mcc)],
      ['9F4E', utf8.encode(c.merchantName.slice(0, 20))],
      ['9F35', fromHex(c.terminalType)],
      ['9F33', Uint8Array.from(c.capabilities)],
      ['9F21', fromHex(hhmmss(local))],
      ['9F45', new Uint8Array(2)],
      ['9F4C', new Uint8Array(8)],
      ['9F7C', new Uint8Array(20)],
    ]);

    // GET PROCESSING OPTIONS
    const pdolData = buildDolData(selected.pdol, values);
    const gpo = await this.#send(getProcessingOptions(pdolData), 'GET PROCESSING OPTIONS');
    if (gpo.sw === SW.CONDITIONS_NOT_SATISFIED) return this.#declined('card_declined');
    this.#expectOk(gpo.sw, 'GET PROCESSING OPTIONS');
    const gpoData = parseGpo(gpo.data);
    const cardData = new Map<string, Uint8Array>(gpoData.tags);
    const aip = gpoData.aip;
    if (!aip || aip.length !== 2) throw new KernelError('card_data_invalid', 'the card gave no application interchange profile');

    let sent: { dol: DolEntry[]; data: Uint8Array };
    let cvmResults: string;
    let cdcvm: boolean;
    if (cardData.has('9F26')) {
      // qVSDC: the cryptogram came with GPO, over the PDOL data.
      sent = { dol: selected.pdol, data: pdolData };
      const ctq = cardData.get('9F6C');
      cdcvm = ctq !== undefined && ctq.length === 2 && (ctq[1]! & 0x80) !== 0 && (ttq[2]! & 0x40) !== 0;
      cvmResults = cdcvm ? CVM_RESULTS_CDCVM : CVM_RESULTS_NO_CVM;
      this.#readCardIdentity(cardData);
      this.#checkCid(cardData);
      if (cardCid(cardData) === 'AAC') return this.#declined('card_declined');
      if (cvmRequired && !cdcvm) return this.#declined('cvm_required');
    } else if (gpoData.afl) {
      // Mastercard: records, then GENERATE AC with CDOL1.
      await this.#readRecords(gpoData.afl, cardData);
      this.#readCardIdentity(cardData);
      const cdol1 = cardData.get('8C');
      if (!cdol1) throw new KernelError('card_data_invalid', 'the card gave no CDOL1');
      const cdol = parseDol(cdol1);
      const onDeviceCvm = (aip[0]! & 0x02) !== 0 && (ttq[2]! & 0x40) !== 0;
      if (cvmRequired && !onDeviceCvm) return this.#declined('cvm_required');
      cvmResults = cvmRequired ? CVM_RESULTS_CDCVM : CVM_RESULTS_NO_CVM;
      values.set('9F34', fromHex(cvmResults));
      const cdolData = buildDolData(cdol, values);
      const gac = await this.#send(generateAc(0x80, cdolData), 'GENERATE AC');
      if (gac.sw === SW.CONDITIONS_NOT_SATISFIED) return this.#declined('card_declined');
      this.#expectOk(gac.sw, 'GENERATE AC');
      for (const [tag, value] of parseGenerateAc(gac.data)) cardData.set(tag, value);
      this.#checkCid(cardData);
      if (cardCid(cardData) === 'AAC') {
        const interaction = cardData.get('DF4B');
        const seePhone = interaction !== undefined && interaction.length >= 2 && (interaction[1]! & 0x01) !== 0;
        return this.#declined(seePhone || cvmRequired ? 'cvm_required' : 'card_declined');
      }
      cdcvm = cvmRequired;
      sent = { dol: cdol, data: cdolData };
    } else {
      throw new KernelError('card_data_invalid', 'the card answered GET PROCESSING OPTIONS with neither a cryptogram nor records to read');
    }

    // The terminal values exactly as the card received them: the cryptogram covers these bytes.
    const terminal = dolValues(sent.dol, sent.data);
    const identity = this.#readCardIdentity(cardData);
    const atc = cardData.get('9F36');
    if (!atc || atc.length !== 2) throw new KernelError('card_data_invalid', 'the card gave no transaction counter');
    this.card.atc = (atc[0]! << 8) | atc[1]!;

    const chip = new Map<string, Uint8Array>([
      ['82', aip],
      ['95', terminal.get('95')!],
      ['9A', terminal.get('9A')!],
      ['9C', terminal.get('9C')!],
      ['5F2A', terminal.get('5F2A')!],
      ['5F34', fromHex(identity.psn)],
      ['9F02', terminal.get('9F02')!],
      ['9F03', terminal.get('9F03')!],
      ['9F10', cardData.get('9F10') ?? new Uint8Array(0)],
      ['9F1A', terminal.get('9F1A')!],
      ['9F26', cardData.get('9F26') ?? new Uint8Array(0)],
      ['9F27', cardData.get('9F27')!],
      ['9F33', Uint8Array.from(c.capabilities)],
      ['9F34', fromHex(cvmResults)],
      ['9F35', fromHex(c.terminalType)],
      ['9F36', atc],
      ['9F37', terminal.get('9F37')!],
    ]);
    const ctq = cardData.get('9F6C');
    if (ctq) chip.set('9F6C', ctq);
    const sentTtq = splitFirst(selected.pdol, pdolData, '9F66');
    if (sentTtq) chip.set('9F66', sentTtq);
    try {
      cryptogramInput(chip);
    } catch (err) {
      throw new KernelError('card_data_invalid', 'the card gave cryptogram data of the wrong form', { cause: err });
    }
    if (chip.get('9F26')!.length !== 8) throw new KernelError('card_data_invalid', 'the card gave no 8-byte cryptogram');
    const de55 = buildTlv([...DE55_TAGS, ...DE55_OPTIONAL_TAGS].filter((t) => chip.has(t)).map((t) => tlv(t, chip.get(t)!)));
    if (de55.length > 255) throw new KernelError('card_data_invalid', 'the chip data is too long for DE55');

    const stan = c.stan();
    if (!Number.isSafeInteger(stan) || stan < 1 || stan > 999_999) throw new KernelError('config_invalid', 'the STAN counter gave a value outside 1 to 999999');
    const utc = new Date(now);
    const isoRequest: IsoMessage = {
      mti: '0100',
      fields: {
        2: identity.pan,
        3: '000000',
        4: String(this.amount).padStart(12, '0'),
        7: `${mmdd(utc)}${hhmmss(utc)}`,
        11: String(stan).padStart(6, '0'),
        12: hhmmss(local),
        13: mmdd(local),
        14: identity.expiry,
        18: c.mcc,
        22: '071',
        23: identity.psn.padStart(3, '0'),
        25: '00',
        41: c.terminalId,
        42: c.merchantId,
        43: c.nameLocation,
        49: c.currency.slice(1),
        55: de55,
      },
    };
    const packed = packMessage(isoRequest);
    return { kind: 'online', request: isoRequest, packed, apdus: this.apdus, cdcvm, card: { ...this.card }, amount: this.amount, currency: c.currencyAlpha };
  }

  #declined(reason: 'cvm_required' | 'card_declined'): KernelOutcome {
    return { kind: 'declined_offline', reason, apdus: this.apdus, cdcvm: false, card: { ...this.card }, amount: this.amount, currency: this.config.currencyAlpha };
  }

  async #send(command: Uint8Array, what: string): Promise<{ data: Uint8Array; sw: number }> {
    let response: unknown;
    try {
      response = await this.link.transceive(command);
    } catch (err) {
      throw new KernelError('link_failed', `the link to the card failed during ${what}`, { cause: err });
    }
    if (!(response instanceof Uint8Array) || response.length < 2) {
      throw new KernelError('card_read_failed', `the card's answer to ${what} is not a response APDU`);
    }
    if (response.length > 258) throw new KernelError('card_read_failed', `the card's answer to ${what} is longer than a short response`);
    this.apdus.push({ command: toHex(command), response: toHex(response) });
    const parsed = parseResponse(response);
    return { data: parsed.data, sw: parsed.sw };
  }

  #expectOk(sw: number, what: string): void {
    if (sw !== SW.OK) throw new KernelError('card_read_failed', `the card refused ${what}`, { sw });
  }

  async #selectApplication(): Promise<{ aid: Uint8Array; pdol: DolEntry[] }> {
    const ppse = await this.#send(selectPpse(), 'SELECT PPSE');
    if (ppse.sw !== SW.OK) throw new KernelError('no_application', 'the card offers no payment application', { sw: ppse.sw });
    const candidates = parsePpse(ppse.data).filter((entry) => this.config.aids.some((aid) => startsWith(entry.aid, aid)));
    candidates.sort((a, b) => a.priority - b.priority);
    if (candidates.length === 0) throw new KernelError('no_application', 'the card offers no application this terminal supports');
    for (const candidate of candidates) {
      const answer = await this.#send(selectByName(candidate.aid), 'SELECT AID');
      if (answer.sw !== SW.OK) continue;
      let fci: Map<string, Uint8Array>;
      try {
        const nodes = parseTlv(answer.data);
        if (nodes.length < 1 || nodes[0]!.tag !== '6F') continue;
        fci = tlvToMap(nodes);
      } catch {
        continue;
      }
      const dfName = fci.get('84');
      if (dfName && !bytesEqual(dfName, candidate.aid)) continue;
      const pdolBytes = fci.get('9F38');
      let pdol: DolEntry[] = [];
      if (pdolBytes) {
        try {
          pdol = parseDol(pdolBytes);
        } catch {
          continue;
        }
      }
      const aidHex = toHex(candidate.aid);
      const known = Object.entries(KERNEL_AIDS).find(([aid]) => aidHex.startsWith(aid));
      this.card.aid = aidHex;
      this.card.network = known ? known[1] : null;
      const labelBytes = fci.get('50') ?? candidate.label;
      this.card.label = labelBytes ? printable(labelBytes) : null;
      return { aid: candidate.aid, pdol };
    }
    throw new KernelError('no_application', 'no application of the card could be selected');
  }

  async #readRecords(afl: Uint8Array, into: Map<string, Uint8Array>): Promise<void> {
    if (afl.length === 0 || afl.length % 4 !== 0) throw new KernelError('card_data_invalid', 'the card gave a malformed AFL');
    let count = 0;
    for (let i = 0; i < afl.length; i += 4) {
      const sfi = afl[i]! >> 3;
      const first = afl[i + 1]!;
      const last = afl[i + 2]!;
      if ((afl[i]! & 0x07) !== 0 || sfi < 1 || sfi > 30 || first < 1 || last < first) throw new KernelError('card_data_invalid', 'the card gave a malformed AFL');
      count += last - first + 1;
      if (count > MAX_RECORDS) throw new KernelError('card_data_invalid', `the card's AFL names more than ${MAX_RECORDS} records`);
      for (let record = first; record <= last; record++) {
        const answer = await this.#send(readRecord(record, sfi), 'READ RECORD');
        this.#expectOk(answer.sw, 'READ RECORD');
        const nodes = parseTlv(answer.data);
        if (nodes.length !== 1 || nodes[0]!.tag !== '70' || !nodes[0]!.children) throw new KernelError('card_read_failed', 'a record is not a record template');
        for (const [tag, value] of tlvToMap(nodes[0]!.children)) if (!into.has(tag)) into.set(tag, value);
      }
    }
  }

  /** Card number, expiry and PSN from 5A / 57 / 5F24 / 5F34, consistent with each other. */
  #readCardIdentity(data: Map<string, Uint8Array>): { pan: string; expiry: string; psn: string } {
    const fromTrack2 = data.has('57') ? parseTrack2(data.get('57')!) : null;
    let pan = fromTrack2?.pan ?? null;
    const panTag = data.get('5A');
    if (panTag) {
      const digits = toHex(panTag).replace(/F+$/, '');
      if (!/^\d{12,19}$/.test(digits)) throw new KernelError('card_data_invalid', 'the card number (5A) is malformed');
      if (pan !== null && pan !== digits) throw new KernelError('card_data_invalid', 'the card number differs between 5A and 57');
      pan = digits;
    }
    if (pan === null) throw new KernelError('card_data_invalid', 'the card gave no card number');
    if (!luhnCheck(pan)) throw new KernelError('card_data_invalid', 'the card number fails its check digit');
    let expiry = fromTrack2?.expiry ?? null;
    const expiryTag = data.get('5F24');
    if (expiryTag) {
      const digits = toHex(expiryTag);
      if (expiryTag.length !== 3 || !/^\d{2}(0[1-9]|1[0-2])\d{2}$/.test(digits)) throw new KernelError('card_data_invalid', 'the expiry date (5F24) is malformed');
      if (expiry !== null && expiry !== digits.slice(0, 4)) throw new KernelError('card_data_invalid', 'the expiry differs between 5F24 and 57');
      expiry = digits.slice(0, 4);
    }
    if (expiry === null) throw new KernelError('card_data_invalid', 'the card gave no expiry date');
    const psnTag = data.get('5F34');
    let psn = '00';
    if (psnTag) {
      if (psnTag.length !== 1 || !/^\d{2}$/.test(toHex(psnTag))) throw new KernelError('card_data_invalid', 'the PAN sequence number (5F34) is malformed');
      psn = toHex(psnTag);
    }
    this.card.panLast4 = pan.slice(-4);
    return { pan, expiry, psn };
  }

  #checkCid(data: Map<string, Uint8Array>): void {
    const cid = data.get('9F27');
    if (!cid || cid.length !== 1) throw new KernelError('card_data_invalid', 'the card gave no cryptogram information data');
    const kind = cid[0]! & 0xc0;
    if (kind !== 0x80 && kind !== 0x00) throw new KernelError('card_data_invalid', 'the card did not answer an online cryptogram (ARQC) or a decline (AAC)');
    if (!data.has('9F26')) throw new KernelError('card_data_invalid', 'the card gave no application cryptogram');
  }
}

// --- Parsing the card's answers -------------------------------------------------------------------

interface PpseEntry {
  aid: Uint8Array;
  priority: number;
  label: Uint8Array | undefined;
}

function parsePpse(data: Uint8Array): PpseEntry[] {
  const nodes = parseTlv(data);
  const fci = nodes.find((n) => n.tag === '6F');
  if (!fci?.children) throw new KernelError('card_read_failed', 'the PPSE answer is not an FCI');
  const entries: PpseEntry[] = [];
  const walk = (list: TlvNode[], depth: number): void => {
    for (const node of list) {
      if (node.tag === '61' && node.children) {
        const map = tlvToMap(node.children);
        const aid = map.get('4F');
        if (!aid || aid.length < 5 || aid.length > 16) continue;
        const p = map.get('87');
        const low = p && p.length === 1 ? p[0]! & 0x0f : 0;
        entries.push({ aid, priority: low === 0 ? 16 : low, label: map.get('50') });
      } else if (node.children && depth < 4) {
        walk(node.children, depth + 1);
      }
    }
  };
  walk(fci.children, 1);
  return entries;
}

/** GPO answer: format 2 (77 template) or format 1 (80: AIP ‖ AFL). */
function parseGpo(data: Uint8Array): { aip: Uint8Array | undefined; afl: Uint8Array | undefined; tags: Map<string, Uint8Array> } {
  const nodes = parseTlv(data);
  if (nodes.length !== 1) throw new KernelError('card_read_failed', 'the GET PROCESSING OPTIONS answer is not one template');
  const node = nodes[0]!;
  if (node.tag === '80') {
    if (node.value.length < 2) throw new KernelError('card_read_failed', 'the GET PROCESSING OPTIONS answer is too short');
    const aip = node.value.slice(0, 2);
    const afl = node.value.slice(2);
    const tags = new Map<string, Uint8Array>([['82', aip]]);
    if (afl.length > 0) tags.set('94', afl);
    return { aip, afl: afl.length > 0 ? afl : undefined, tags };
  }
  if (node.tag !== '77' || !node.children) throw new KernelError('card_read_failed', 'the GET PROCESSING OPTIONS answer is not a response template');
  const tags = tlvToMap(node.children);
  return { aip: tags.get('82'), afl: tags.get('94'), tags };
}

/** GENERATE AC answer: format 2 (77) or format 1 (80: CID ‖ ATC ‖ AC ‖ IAD). */
function parseGenerateAc(data: Uint8Array): Map<string, Uint8Array> {
  const nodes = parseTlv(data);
  if (nodes.length !== 1) throw new KernelError('card_read_failed', 'the GENERATE AC answer is not one template');
  const node = nodes[0]!;
  if (node.tag === '80') {
    const v = node.value;
    if (v.length < 11) throw new KernelError('card_read_failed', 'the GENERATE AC answer is too short');
    const out = new Map<string, Uint8Array>([
      ['9F27', v.slice(0, 1)],
      ['9F36', v.slice(1, 3)],
      ['9F26', v.slice(3, 11)],
    ]);
    if (v.length > 11) out.set('9F10', v.slice(11));
    return out;
  }
  if (node.tag !== '77' || !node.children) throw new KernelError('card_read_failed', 'the GENERATE AC answer is not a response template');
  return tlvToMap(node.children);
}

function cardCid(data: Map<string, Uint8Array>): 'ARQC' | 'AAC' {
  return (data.get('9F27')![0]! & 0xc0) === 0x80 ? 'ARQC' : 'AAC';
}

/** Track 2 equivalent: PAN `D` YYMM service code, discretionary data, F padding. */
function parseTrack2(value: Uint8Array): { pan: string; expiry: string } {
  const hex = toHex(value);
  const match = /^(\d{12,19})D(\d{2}(?:0[1-9]|1[0-2]))(\d{3})(\d*)F?$/.exec(hex);
  if (!match) throw new KernelError('card_data_invalid', 'the track 2 equivalent data (57) is malformed');
  return { pan: match[1]!, expiry: match[2]! };
}

/**
 * The terminal's cryptogram values as sent in the DOL data. The DOL must ask for each of them at its
 * standard length: otherwise the cryptogram would not be over the values DE55 carries.
 */
function dolValues(dol: DolEntry[], data: Uint8Array): Map<string, Uint8Array> {
  const map = splitDolData(dol, data);
  for (const [tag, length] of Object.entries(TERMINAL_CRYPTOGRAM_TAGS)) {
    const entry = dol.find((e) => e.tag === tag);
    if (!entry || entry.length !== length) {
      throw new KernelError('card_data_invalid', `the card's data object list does not ask for ${tag} as the cryptogram needs it`);
    }
  }
  return map;
}

function splitFirst(dol: DolEntry[], data: Uint8Array, tag: string): Uint8Array | undefined {
  if (!dol.some((e) => e.tag === tag)) return undefined;
  return splitDolData(dol, data).get(tag);
}

function startsWith(value: Uint8Array, prefix: Uint8Array): boolean {
  return value.length >= prefix.length && bytesEqual(value.subarray(0, prefix.length), prefix);
}

function printable(bytes: Uint8Array): string | null {
  let text = '';
  for (const b of bytes) if (b >= 0x20 && b <= 0x7e) text += String.fromCharCode(b);
  text = text.trim();
  return text.length > 0 ? text : null;
}

// --- Dates ----------------------------------------------------------------------------------------

const two = (n: number): string => String(n).padStart(2, '0');
function yymmdd(d: Date): string {
  return `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}`;
}
function mmdd(d: Date): string {
  return `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}`;
}
function hhmmss(d: Date): string {
  return `${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`;
}

// --- Configuration --------------------------------------------------------------------------------

function bad(message: string): KernelError {
  return new KernelError('config_invalid', message);
}

const PRINTABLE = /^[\x20-\x7e]*$/;

function numeric3(value: unknown, what: string): string {
  if (typeof value !== 'string' || !/^0?\d{3}$/.test(value)) throw bad(`${what} must be 3 digits (or 4 with a leading 0)`);
  return value.padStart(4, '0');
}

function resolveConfig(config: KernelConfig): ResolvedConfig {
  if (typeof config !== 'object' || config === null) throw bad('configuration is missing');
  const { terminalId, merchantId, merchantName, mcc, currencyAlpha } = config;
  if (typeof terminalId !== 'string' || terminalId.length !== 8 || !PRINTABLE.test(terminalId)) throw bad('terminalId must be 8 printable characters');
  if (typeof merchantId !== 'string' || merchantId.length !== 15 || !PRINTABLE.test(merchantId)) throw bad('merchantId must be 15 printable characters');
  if (typeof merchantName !== 'string' || merchantName.trim().length === 0 || merchantName.length > 25 || !PRINTABLE.test(merchantName)) {
    throw bad('merchantName must be 1 to 25 printable characters');
  }
  const city = config.merchantCity ?? '';
  if (typeof city !== 'string' || city.length > 13 || !PRINTABLE.test(city)) throw bad('merchantCity must be at most 13 printable characters');
  const countryAlpha = config.merchantCountry ?? 'US';
  if (typeof countryAlpha !== 'string' || !/^[A-Z]{2}$/.test(countryAlpha)) throw bad('merchantCountry must be 2 capital letters');
  if (typeof mcc !== 'string' || !/^\d{4}$/.test(mcc)) throw bad('mcc must be 4 digits');
  if (typeof currencyAlpha !== 'string' || !/^[A-Z]{3}$/.test(currencyAlpha)) throw bad('currencyAlpha must be 3 capital letters');
  const ttq = config.ttq ?? '20804000';
  if (typeof ttq !== 'string' || ttq.length !== 8 || !isHex(ttq)) throw bad('ttq must be 4 bytes of hex');
  const terminalType = config.terminalType ?? '22';
  if (typeof terminalType !== 'string' || !/^\d{2}$/.test(terminalType)) throw bad('terminalType must be 2 digits');
  const capabilities = config.capabilities ?? '000800';
  if (typeof capabilities !== 'string' || capabilities.length !== 6 || !isHex(capabilities)) throw bad('capabilities must be 3 bytes of hex');
  const cvmLimit = config.cvmLimit ?? 5000;
  if (!Number.isSafeInteger(cvmLimit) || cvmLimit < 0 || cvmLimit > MAX_AMOUNT) throw bad('cvmLimit must be a non-negative integer of minor units');
  const utcOffsetMinutes = config.utcOffsetMinutes ?? 0;
  if (!Number.isInteger(utcOffsetMinutes) || Math.abs(utcOffsetMinutes) > 14 * 60) throw bad('utcOffsetMinutes must be an integer within ±14 hours');
  const aids = (config.aids ?? Object.keys(KERNEL_AIDS)).map((aid) => {
    if (typeof aid !== 'string' || !isHex(aid) || aid.length < 10 || aid.length > 32) throw bad('each AID must be 5 to 16 bytes of hex');
    return fromHex(aid);
  });
  if (aids.length === 0) throw bad('at least one AID is needed');
  let counter = 0;
  const stan = config.stan ?? ((): number => (counter = (counter % 999_999) + 1));
  if (typeof stan !== 'function') throw bad('stan must be a function');
  const random = config.random ?? ((n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n)));
  if (typeof random !== 'function') throw bad('random must be a function');
  const clock = config.clock ?? Date.now;
  if (typeof clock !== 'function') throw bad('clock must be a function');
  const nameLocation = merchantName.padEnd(25).slice(0, 25) + city.padEnd(13).slice(0, 13) + countryAlpha;
  return {
    terminalId,
    merchantId,
    merchantName,
    nameLocation,
    mcc,
    country: numeric3(config.countryCode, 'countryCode'),
    currency: numeric3(config.currencyCode, 'currencyCode'),
    currencyAlpha,
    ttq: fromHex(ttq),
    terminalType,
    capabilities: fromHex(capabilities),
    cvmLimit,
    clock,
    utcOffsetMinutes,
    random,
    stan,
    aids,
  };
}

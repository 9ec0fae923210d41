/**
 * The payment applet of the Secure Element: the ISO/IEC 7816-4 responder a contactless reader talks
 * to during a tap (docs/authorization.md, docs/reference/emv-contactless.md). It runs inside the SE module: the
 * SecureElement hands it a host (AppletHost) built from its private state, and the card's master key
 * reaches the applet only inside `host.generate`, for one cryptogram, and is zeroed after it.
 * Nothing the applet answers carries a key; the track 2 equivalent and the PAN carry the TOKEN
 * number, as in every EMV tap.
 *
 * ## Dialogue
 * | command | state needed | answer |
 * |---|---|---|
 * | SELECT PPSE `00 A4 04 00` "2PAY.SYS.DDF01" | a card armed, or an express transit card | FCI `6F{84, A5{BF0C{61{4F, 50, 87}}}}` |
 * | SELECT AID `00 A4 04 00` AID | as above; AID = the tap card's (or a prefix of it, ≥ 5 bytes) | FCI `6F{84, A5{50, 87, 9F38 PDOL, 5F2D}}` |
 * | GET PROCESSING OPTIONS `80 A8 00 00` `83 L` PDOL data | application selected, GPO not yet done | Visa/Amex/Discover: `77{82, 57, 5F34, 9F10, 9F26, 9F27, 9F36, 9F6C, 9F6E, 5F24[, 9F19][, 9F24]}` with the ARQC; Mastercard: `77{82, 94}` |
 * | READ RECORD `00 B2 rec (SFI<<3)|4` | Mastercard application selected | SFI 1 rec 1 `70{57}`; SFI 2 rec 1 `70{5A, 5F24, 5F34, 8C CDOL1[, 9F19][, 9F24]}` |
 * | GENERATE AC `80 AE P1 00` CDOL1 data | Mastercard, after GPO, once | `77{9F27, 9F36, 9F26, 9F10[, DF4B]}` |
 * | GET DATA `80 CA 9F 36` | application selected | `9F36` ATC |
 *
 * PDOL (every network): `9F66 04 9F02 06 9F03 06 9F1A 02 95 05 5F2A 02 9A 03 9C 01 9F37 04 9F15 02 9F4E 14`.
 * CDOL1 (Mastercard): `9F02 06 9F03 06 9F1A 02 95 05 5F2A 02 9A 03 9C 01 9F37 04 9F35 01 9F45 02 9F4C 08 9F34 03 9F21 03 9F7C 14`.
 * The cryptogram covers the values as the terminal sent them in the PDOL (Visa, Amex, Discover) or
 * CDOL1 (Mastercard), so it is bound to the terminal's unpredictable number (9F37) and amount (9F02).
 *
 * Status words: `6985` conditions not satisfied (no card armed, GPO before SELECT, GPO twice,
 * GENERATE AC before GPO or for a network without it, READ RECORD before SELECT, card suspended,
 * express transit outside its conditions, ATC exhausted); `6A82` unknown AID or DF name; `6A83` no
 * such record; `6A86` bad P1/P2; `6A88` GET DATA of another tag; `6700` wrong length (APDU that does
 * not parse, PDOL/CDOL data of the wrong length); `6A80` GPO data not `83`; `6D00` unknown INS;
 * `6E00` unknown CLA (or the wrong one for the INS); `6F00` internal error (storage unreadable).
 *
 * ## Tessera's choices of flags (the phone's side of consumer-device CVM, CDCVM)
 * AIP (82): Visa/Amex/Discover `1200` — byte 1 b5 (`10`) cardholder verification supported, b2 (`02`)
 * on-device cardholder verification supported; Mastercard `1A80` — the same plus b4 (`08`) terminal risk
 * management, and byte 2 b8 (`80`) EMV mode (Kernel 2). No offline data authentication (no SDA/DDA/CDA bits).
 *
 * CTQ (9F6C, Visa/Amex/Discover): byte 1 `00`; byte 2 b8 (`80`) "consumer device CVM performed" —
 * `0080` with CDCVM, `0000` without.
 *
 * CVR inside 9F10, the part of the IAD the cryptogram covers (so a terminal cannot forge the flag):
 * - Visa layout (also Amex A1 / Discover D1): 9F10 = `06` ‖ DKI `01` ‖ CVN ‖ CVR(4), CVR =
 *   `03` (length) ‖ byte 2 ‖ `00` ‖ `00`. Byte 2: b8-7 `10` second GENERATE AC not requested, b6-5 `10`
 *   ARQC returned; b3 (`04`) "cardholder verified by the card" (VIS: offline PIN verification performed)
 *   = CDCVM. So CVR = `03A00000` without CDCVM, `03A40000` with it.
 * - Mastercard layout: 9F10 = DKI `01` ‖ CVN `14` ‖ CVR(6) ‖ DAC `0000`. CVR byte 1: b8-7 `10` second
 *   GENERATE AC not requested, b6-5 the AC returned first (`10` ARQC, `00` AAC), b3 (`04`) offline PIN
 *   verification performed and b1 (`01`) offline PIN verification successful = CDCVM (the M/Chip mobile
 *   convention: the phone's verification is reported as a card-verified PIN). Bytes 2-6 `00`.
 *   So CVR = `A00000000000` ARQC without CDCVM, `A50000000000` ARQC with CDCVM, `800000000000` AAC.
 *
 * When the phone signals CDCVM: only when armed (SecureElement.prepareContactless) with a Secure Enclave
 * authorization for purpose `contactless` that verified against the challenge the SE issued, is at
 * most 60 s old at the moment of the cryptogram, and has not been used by an earlier cryptogram. The
 * cryptogram consumes it (and the arming), whatever the outcome.
 *
 * Mastercard: the terminal asks for CDCVM in CDOL1's 9F34 (CVM code `01`, the Kernel 2 convention for
 * on-device CVM, as the AIP says the phone supports it). If it asks and the phone holds no valid
 * authorization, the phone answers an AAC (CID `00`) with `DF4B` (POS cardholder interaction
 * information) = `000100`: byte 2 b1 "on-device CVM required", i.e. "see phone". Visa/Amex/Discover
 * always answer the ARQC; the reader reads CTQ and applies its CVM limit.
 *
 * Express transit: with no card armed, the express transit card (SecureElement.setTransitCard) answers,
 * and only when the PDOL's 9F15 is a transit MCC (4111, 4131, 4784) and 9F02 is at most the transit
 * limit (default 2500 minor units; Mastercard: CDOL1's 9F02 must also be within it); otherwise GPO or
 * GENERATE AC answers `6985`. It then pays without authorization and without CDCVM. An armed card
 * always answers (with CDCVM only under the rule above).
 *
 * Every cryptogram (ARQC or AAC) increments the card's ATC first, persisted sealed by the SE.
 */
import { buildResponse, parseCommand, PPSE_NAME, SW, type CommandApdu } from '../protocol/apdu/apdu.js';
import { bytesEqual, concatBytes, fromHex, toHex, utf8 } from '../protocol/bytes.js';
import type { Network } from '../protocol/cards/index.js';
import { isAesCvn, isCvn, generateAesArqc, generateArqc, type CryptogramInput } from '../protocol/emv/index.js';
import { parseDol, splitDolData, type DolEntry } from '../protocol/tlv/dol.js';
import { buildTlv, parseTlv, tlv, type TlvNode } from '../protocol/tlv/tlv.js';

/** PDOL every Tessera card asks for (docs/authorization.md). */
export const PDOL_HEX = '9F66049F02069F03069F1A0295055F2A029A039C019F37049F15029F4E14';
/** Mastercard's CDOL1 (docs/authorization.md). */
export const CDOL1_HEX = '9F02069F03069F1A0295055F2A029A039C019F37049F35019F45029F4C089F34039F21039F7C14';
/** Merchant category codes where the express transit card pays without authorization. */
export const TRANSIT_MCCS: readonly string[] = ['4111', '4131', '4784'];
/** Default express transit limit, in minor units of the terminal's currency. */
export const DEFAULT_TRANSIT_LIMIT = 2500;

export const AIP_QVSDC = '1200';
export const AIP_MASTERCARD = '1A80';
/** Mastercard AFL: SFI 1 record 1, SFI 2 record 1, none for offline data authentication. */
export const AFL_MASTERCARD = '0801010010010100';
export const CTQ_CDCVM = 0x80;
/** Visa-layout CVR byte 2 bit for CDCVM; Mastercard CVR byte 1 bits for CDCVM. */
export const VISA_CVR_CDCVM = 0x04;
export const MASTERCARD_CVR_CDCVM = 0x05;
/** 9F6E form factor: version 1, mobile phone; passcode, two-way messaging and biometric capable. */
const FORM_FACTOR = '218A0000';
const DKI = 0x01;

const PDOL: DolEntry[] = parseDol(fromHex(PDOL_HEX));
const CDOL1: DolEntry[] = parseDol(fromHex(CDOL1_HEX));
const PPSE = utf8.encode(PPSE_NAME);
/** Largest ATC: a card whose counter reached it makes no more cryptograms. */
export const ATC_MAX = 0xffff;

/** The card data the applet sees: public, except the token number, which EMV carries in the clear. */
export interface AppletCard {
  tokenRef: string;
  network: Network;
  tokenPan: string;
  /** YYMM. */
  tokenExp: string;
  psn: string;
  aid: string;
  label: string;
  cvn: number | string;
  tokenRequestorId: string | null;
  par: string | null;
}

export interface TransitPolicy {
  /** Largest amount (minor units) the express transit card pays without authorization. */
  limit: number;
  mccs: readonly string[];
}

/** What a cryptogram computation gets from the SE: the new ATC and, for this call only, the card's key. */
export interface CryptogramContext {
  atc: number;
  mk: Uint8Array;
}

/** What the applet learns about one finished cryptogram (the wallet may show it). */
export interface TapRecord {
  tokenRef: string;
  network: Network;
  cryptogram: 'ARQC' | 'AAC';
  atc: number;
  /** Minor units, from 9F02. */
  amount: number;
  /** ISO 4217 numeric, from 5F2A (e.g. `0840`). */
  currency: string;
  mcc: string | null;
  merchantName: string | null;
  cdcvm: boolean;
  transit: boolean;
}

/** The SE's side, built by SecureElement from its private state. */
export interface AppletHost {
  /** The card that answers this tap: the armed one, else the express transit card; null when none (or it is not active). */
  tapCard(): Promise<{ card: AppletCard; armed: boolean } | null>;
  /** True when the armed authorization for this card would give CDCVM now (valid, fresh, unused). Does not consume it. */
  cdcvmAvailable(tokenRef: string): boolean;
  transit: TransitPolicy;
  /**
   * Increments and persists the card's ATC, consumes the arming (and its authorization), then calls
   * `compute` with the new ATC and the card's master key, zeroed afterwards. Throws AppletRefusal
   * when the card may not make a cryptogram (suspended, gone, ATC exhausted).
   */
  generate<T>(tokenRef: string, compute: (context: CryptogramContext) => Promise<T>): Promise<T>;
  /** Told about each cryptogram made. */
  record(tap: TapRecord): void;
  /** The card's current ATC (GET DATA), or null when the card is gone. */
  atc(tokenRef: string): Promise<number | null>;
}

/** A refusal answered with a status word. */
export class AppletRefusal extends Error {
  override readonly name = 'AppletRefusal';
  constructor(
    readonly sw: number,
    message: string,
  ) {
    super(message);
  }
}

type Stage = 'ppse' | 'selected' | 'processing' | 'done';

interface Session {
  stage: Stage;
  card: AppletCard;
  armed: boolean;
  /** Mastercard: the GPO's PDOL data, for the transit check at GENERATE AC. */
  pdol?: Map<string, Uint8Array>;
  transit?: boolean;
}

const refuse = (sw: number, message: string): AppletRefusal => new AppletRefusal(sw, message);

/** One applet per SE; holds the state of the current tap only (in memory: a tap ends with the field). */
export class PaymentApplet {
  #session: Session | null = null;

  /** Answers one command APDU. Never throws: every problem is a status word. */
  async process(command: Uint8Array, host: AppletHost): Promise<Uint8Array> {
    try {
      if (!(command instanceof Uint8Array)) return sw(SW.WRONG_LENGTH);
      let apdu: CommandApdu;
      try {
        apdu = parseCommand(command);
      } catch {
        return sw(SW.WRONG_LENGTH);
      }
      return await this.#dispatch(apdu, host);
    } catch (err) {
      if (err instanceof AppletRefusal) return sw(err.sw);
      // Storage unreadable or an internal fault: the tap ends, nothing of the cause leaves the SE.
      this.#session = null;
      return sw(SW.UNKNOWN_ERROR);
    }
  }

  /** Forgets the current tap (the reader's field went away, or the SE's state changed). */
  reset(): void {
    this.#session = null;
  }

  async #dispatch(apdu: CommandApdu, host: AppletHost): Promise<Uint8Array> {
    const { cla, ins } = apdu;
    const iso = cla === 0x00;
    const proprietary = cla === 0x80;
    if (!iso && !proprietary) return sw(SW.CLA_NOT_SUPPORTED);
    switch (ins) {
      case 0xa4:
        return iso ? this.#select(apdu, host) : sw(SW.CLA_NOT_SUPPORTED);
      case 0xa8:
        return proprietary ? this.#gpo(apdu, host) : sw(SW.CLA_NOT_SUPPORTED);
      case 0xb2:
        return iso ? this.#readRecord(apdu) : sw(SW.CLA_NOT_SUPPORTED);
      case 0xae:
        return proprietary ? this.#generateAc(apdu, host) : sw(SW.CLA_NOT_SUPPORTED);
      case 0xca:
        return proprietary ? this.#getData(apdu, host) : sw(SW.CLA_NOT_SUPPORTED);
      default:
        return sw(SW.INS_NOT_SUPPORTED);
    }
  }

  // --- SELECT ------------------------------------------------------------------------------------

  async #select(apdu: CommandApdu, host: AppletHost): Promise<Uint8Array> {
    if (apdu.p1 !== 0x04 || (apdu.p2 & 0xfd) !== 0x00) return sw(SW.INCORRECT_P1P2);
    const name = apdu.data ?? new Uint8Array(0);
    if (name.length === 0 || name.length > 16) return sw(SW.WRONG_LENGTH);
    if (bytesEqual(name, PPSE)) {
      this.#session = null;
      const tap = await host.tapCard();
      if (!tap) return sw(SW.CONDITIONS_NOT_SATISFIED);
      this.#session = { stage: 'ppse', card: tap.card, armed: tap.armed };
      const entry = tlv('61', [tlv('4F', fromHex(tap.card.aid)), tlv('50', label(tap.card)), tlv('87', Uint8Array.of(0x01))]);
      const fci = tlv('6F', [tlv('84', PPSE), tlv('A5', [tlv('BF0C', [entry])])]);
      return ok(buildTlv([fci]));
    }
    // SELECT AID: a new application selection ends any transaction in progress.
    this.#session = null;
    const tap = await host.tapCard();
    if (!tap) return sw(SW.CONDITIONS_NOT_SATISFIED);
    const aid = fromHex(tap.card.aid);
    const matches = name.length >= 5 && name.length <= aid.length && bytesEqual(name, aid.subarray(0, name.length));
    if (!matches) {
      this.#session = { stage: 'ppse', card: tap.card, armed: tap.armed };
      return sw(SW.FILE_NOT_FOUND);
    }
    this.#session = { stage: 'selected', card: tap.card, armed: tap.armed };
    const fci = tlv('6F', [
      tlv('84', aid),
      tlv('A5', [tlv('50', label(tap.card)), tlv('87', Uint8Array.of(0x01)), tlv('9F38', fromHex(PDOL_HEX)), tlv('5F2D', utf8.encode('en'))]),
    ]);
    return ok(buildTlv([fci]));
  }

  // --- GET PROCESSING OPTIONS --------------------------------------------------------------------

  async #gpo(apdu: CommandApdu, host: AppletHost): Promise<Uint8Array> {
    const session = this.#session;
    if (!session || session.stage !== 'selected') return sw(SW.CONDITIONS_NOT_SATISFIED);
    if (apdu.p1 !== 0x00 || apdu.p2 !== 0x00) return sw(SW.INCORRECT_P1P2);
    const data = apdu.data ?? new Uint8Array(0);
    let nodes: TlvNode[];
    try {
      nodes = parseTlv(data);
    } catch {
      return sw(SW.WRONG_DATA);
    }
    if (nodes.length !== 1 || nodes[0]!.tag !== '83') return sw(SW.WRONG_DATA);
    let pdol: Map<string, Uint8Array>;
    try {
      pdol = splitDolData(PDOL, nodes[0]!.value);
    } catch {
      return sw(SW.WRONG_LENGTH);
    }
    // From here the transaction is under way: a second GPO needs a new SELECT.
    session.stage = 'processing';
    const transit = this.#transitCheck(session, host, pdol, pdol.get('9F02')!);

    if (session.card.network === 'mastercard') {
      session.pdol = pdol;
      session.transit = transit;
      return ok(buildTlv([tlv('77', [tlv('82', fromHex(AIP_MASTERCARD)), tlv('94', fromHex(AFL_MASTERCARD))])]));
    }

    session.stage = 'done';
    const card = session.card;
    const cdcvm = host.cdcvmAvailable(card.tokenRef);
    const cvn = card.cvn;
    if (!(isCvn(cvn) && (cvn === 10 || cvn === 18 || cvn === 22)) && !isAesCvn(cvn)) {
      throw refuse(SW.CONDITIONS_NOT_SATISFIED, 'card has no cryptogram version this applet supports');
    }
    const cvnByte = isAesCvn(cvn) ? (cvn === 'A1' ? 0xa1 : 0xd1) : cvn;
    const cvr = Uint8Array.of(0x03, 0xa0 | (cdcvm ? VISA_CVR_CDCVM : 0), 0x00, 0x00);
    const iad = concatBytes(Uint8Array.of(0x06, DKI, cvnByte), cvr);
    const aip = fromHex(AIP_QVSDC);
    const { atc, arqc } = await host.generate(card.tokenRef, async ({ atc, mk }) => {
      const input = cryptogramInputFrom(pdol, aip, atc, iad);
      const arqc = isAesCvn(cvn) ? await generateAesArqc(cvn, mk, input) : generateArqc(cvn as 10 | 18 | 22, mk, input);
      return { atc, arqc };
    });
    host.record(tapRecord(card, 'ARQC', atc, pdol, pdol, cdcvm, transit));

    const children: TlvNode[] = [
      tlv('82', aip),
      tlv('57', track2(card.tokenPan, card.tokenExp)),
      tlv('5F34', fromHex(card.psn)),
      tlv('9F10', iad),
      tlv('9F26', arqc),
      tlv('9F27', Uint8Array.of(0x80)),
      tlv('9F36', atcBytes(atc)),
      tlv('9F6C', Uint8Array.of(0x00, cdcvm ? CTQ_CDCVM : 0x00)),
      tlv('9F6E', fromHex(FORM_FACTOR)),
      tlv('5F24', expiryDate(card.tokenExp)),
      ...tokenTags(card),
    ];
    return ok(buildTlv([tlv('77', children)]));
  }

  /**
   * Express transit: a card that is not armed answers only at a transit merchant, within the limit.
   * Returns true when the tap goes through as express transit.
   */
  #transitCheck(session: Session, host: AppletHost, pdol: Map<string, Uint8Array>, amountBytes: Uint8Array): boolean {
    if (session.armed) return false;
    const mcc = bcdDigits(pdol.get('9F15'));
    const amount = bcdAmount(amountBytes);
    if (mcc === null || !host.transit.mccs.includes(mcc) || amount === null || amount > host.transit.limit) {
      this.#session = null;
      throw refuse(SW.CONDITIONS_NOT_SATISFIED, 'express transit card outside a transit transaction');
    }
    return true;
  }

  // --- READ RECORD -------------------------------------------------------------------------------

  #readRecord(apdu: CommandApdu): Uint8Array {
    const session = this.#session;
    if (!session || session.stage === 'ppse') return sw(SW.CONDITIONS_NOT_SATISFIED);
    if ((apdu.p2 & 0x07) !== 0x04 || apdu.p1 === 0x00) return sw(SW.INCORRECT_P1P2);
    const sfi = apdu.p2 >> 3;
    const card = session.card;
    if (card.network !== 'mastercard') return sw(SW.RECORD_NOT_FOUND);
    if (sfi === 1 && apdu.p1 === 1) {
      return ok(buildTlv([tlv('70', [tlv('57', track2(card.tokenPan, card.tokenExp))])]));
    }
    if (sfi === 2 && apdu.p1 === 1) {
      const pan = card.tokenPan.length % 2 === 0 ? card.tokenPan : `${card.tokenPan}F`;
      return ok(
        buildTlv([
          tlv('70', [
            tlv('5A', fromHex(pan)),
            tlv('5F24', expiryDate(card.tokenExp)),
            tlv('5F34', fromHex(card.psn)),
            tlv('8C', fromHex(CDOL1_HEX)),
            ...tokenTags(card),
          ]),
        ]),
      );
    }
    return sw(SW.RECORD_NOT_FOUND);
  }

  // --- GENERATE AC (Mastercard) ------------------------------------------------------------------

  async #generateAc(apdu: CommandApdu, host: AppletHost): Promise<Uint8Array> {
    const session = this.#session;
    if (!session || session.stage !== 'processing' || session.card.network !== 'mastercard' || !session.pdol) {
      return sw(SW.CONDITIONS_NOT_SATISFIED);
    }
    const requested = apdu.p1 & 0xc0;
    if (requested === 0xc0 || (apdu.p1 & 0x2f) !== 0 || apdu.p2 !== 0x00) return sw(SW.INCORRECT_P1P2);
    let cdol: Map<string, Uint8Array>;
    try {
      cdol = splitDolData(CDOL1, apdu.data ?? new Uint8Array(0));
    } catch {
      return sw(SW.WRONG_LENGTH);
    }
    session.stage = 'done';
    const card = session.card;
    if (session.transit) {
      const amount = bcdAmount(cdol.get('9F02')!);
      if (amount === null || amount > host.transit.limit) {
        this.#session = null;
        throw refuse(SW.CONDITIONS_NOT_SATISFIED, 'express transit amount above the limit');
      }
    }
    if (card.cvn !== 16 && card.cvn !== 20) throw refuse(SW.CONDITIONS_NOT_SATISFIED, 'card has no cryptogram version this applet supports');
    const cvn = card.cvn;
    const cdcvm = host.cdcvmAvailable(card.tokenRef);
    const cvmAsked = ((cdol.get('9F34')![0] ?? 0) & 0x3f) === 0x01;
    // The terminal asked for on-device CVM and the phone has none: decline, "see phone".
    const aac = requested === 0x00 || (cvmAsked && !cdcvm);
    const cvr = new Uint8Array(6);
    cvr[0] = aac ? 0x80 : 0xa0 | (cdcvm ? MASTERCARD_CVR_CDCVM : 0);
    const iad = concatBytes(Uint8Array.of(DKI, cvn), cvr, new Uint8Array(2));
    const aip = fromHex(AIP_MASTERCARD);
    const { atc, ac } = await host.generate(card.tokenRef, async ({ atc, mk }) => {
      const input = cryptogramInputFrom(cdol, aip, atc, iad);
      return { atc, ac: generateArqc(cvn, mk, input) };
    });
    host.record(tapRecord(card, aac ? 'AAC' : 'ARQC', atc, cdol, session.pdol, cdcvm && !aac, session.transit === true));
    const children: TlvNode[] = [
      tlv('9F27', Uint8Array.of(aac ? 0x00 : 0x80)),
      tlv('9F36', atcBytes(atc)),
      tlv('9F26', ac),
      tlv('9F10', iad),
    ];
    if (aac && cvmAsked && !cdcvm) children.push(tlv('DF4B', Uint8Array.of(0x00, 0x01, 0x00)));
    return ok(buildTlv([tlv('77', children)]));
  }

  // --- GET DATA ----------------------------------------------------------------------------------

  async #getData(apdu: CommandApdu, host: AppletHost): Promise<Uint8Array> {
    const session = this.#session;
    if (!session || session.stage === 'ppse') return sw(SW.CONDITIONS_NOT_SATISFIED);
    if (apdu.p1 !== 0x9f || apdu.p2 !== 0x36) return sw(SW.REFERENCED_DATA_NOT_FOUND);
    const atc = await host.atc(session.card.tokenRef);
    if (atc === null) return sw(SW.CONDITIONS_NOT_SATISFIED);
    return ok(buildTlv([tlv('9F36', atcBytes(atc))]));
  }
}

// --- Helpers --------------------------------------------------------------------------------------

function sw(word: number): Uint8Array {
  return buildResponse(new Uint8Array(0), word);
}

function ok(data: Uint8Array): Uint8Array {
  return buildResponse(data, SW.OK);
}

function label(card: AppletCard): Uint8Array {
  // 50 is `ans` 1-16: printable ASCII only.
  const text = card.label.replace(/[^\x20-\x7e]/g, '').slice(0, 16);
  return utf8.encode(text.length > 0 ? text : card.network.toUpperCase());
}

function atcBytes(atc: number): Uint8Array {
  return Uint8Array.of((atc >> 8) & 0xff, atc & 0xff);
}

/** The 12 cryptogram tags, from the values the terminal sent (PDOL or CDOL1 data) and the card's. */
function cryptogramInputFrom(terminal: Map<string, Uint8Array>, aip: Uint8Array, atc: number, iad: Uint8Array): CryptogramInput {
  const get = (tag: string): Uint8Array => terminal.get(tag)!;
  return {
    '9F02': get('9F02'),
    '9F03': get('9F03'),
    '9F1A': get('9F1A'),
    '95': get('95'),
    '5F2A': get('5F2A'),
    '9A': get('9A'),
    '9C': get('9C'),
    '9F37': get('9F37'),
    '82': aip,
    '9F36': atcBytes(atc),
    '9F10': iad,
  };
}

/** Track 2 equivalent: token PAN `D` YYMM service code 201, discretionary zeros, F-padded. */
export function track2(pan: string, exp: string): Uint8Array {
  let digits = `${pan}D${exp}2010000000000000`;
  if (digits.length % 2 === 1) digits += 'F';
  return fromHex(digits);
}

/** 5F24 YYMMDD: the last day of the token's expiry month. */
export function expiryDate(exp: string): Uint8Array {
  const yy = Number(exp.slice(0, 2));
  const mm = Number(exp.slice(2, 4));
  const day = new Date(Date.UTC(2000 + yy, mm, 0)).getUTCDate();
  return fromHex(`${exp}${String(day).padStart(2, '0')}`);
}

function tokenTags(card: AppletCard): TlvNode[] {
  const out: TlvNode[] = [];
  if (card.tokenRequestorId !== null && /^\d{1,12}$/.test(card.tokenRequestorId)) {
    out.push(tlv('9F19', fromHex(card.tokenRequestorId.padStart(12, '0'))));
  }
  if (card.par !== null && /^[\x20-\x7e]{1,32}$/.test(card.par)) out.push(tlv('9F24', utf8.encode(card.par)));
  return out;
}

/** Digits of a BCD value, or null when it is not BCD. */
function bcdDigits(bytes: Uint8Array | undefined): string | null {
  if (!bytes) return null;
  const hex = toHex(bytes);
  return /^\d*$/.test(hex) ? hex : null;
}

function bcdAmount(bytes: Uint8Array): number | null {
  const digits = bcdDigits(bytes);
  return digits === null || digits.length === 0 ? null : Number(digits);
}

function ansText(bytes: Uint8Array | undefined): string | null {
  if (!bytes) return null;
  let text = '';
  for (const b of bytes) {
    if (b === 0x00) break;
    if (b < 0x20 || b > 0x7e) return null;
    text += String.fromCharCode(b);
  }
  text = text.trim();
  return text.length > 0 ? text : null;
}

function tapRecord(
  card: AppletCard,
  cryptogram: 'ARQC' | 'AAC',
  atc: number,
  data: Map<string, Uint8Array>,
  pdol: Map<string, Uint8Array>,
  cdcvm: boolean,
  transit: boolean,
): TapRecord {
  return {
    tokenRef: card.tokenRef,
    network: card.network,
    cryptogram,
    atc,
    amount: bcdAmount(data.get('9F02')!) ?? 0,
    currency: bcdDigits(data.get('5F2A')) ?? '0000',
    mcc: bcdDigits(pdol.get('9F15')),
    merchantName: ansText(pdol.get('9F4E')),
    cdcvm,
    transit,
  };
}

/**
 * The browser build of ApplePaySession (served by the platform at /applepay/v1/apple-pay.js): the sheet
 * is the platform's /wallet/pay page in a full-viewport iframe, reached with postMessage; every message
 * is checked for the platform's origin, the iframe as its source and the session id.
 */
import { installApplePayButtons } from './button.js';
import { createPaymentRequest } from './payment-request.js';
import { ApplePayError, createApplePaySession, type SheetMessage, type SheetPort } from './session.js';

export interface ScriptConfig {
  /** The merchant-validation URL (mutual TLS) the platform runs. */
  validationURL: string;
}

class IframePort implements SheetPort {
  #iframe: HTMLIFrameElement | undefined;
  #listener: ((e: MessageEvent) => void) | undefined;

  constructor(private readonly platformOrigin: string) {}

  open(sid: string, onMessage: (msg: unknown) => void): void {
    const iframe = document.createElement('iframe');
    iframe.src = `${this.platformOrigin}/wallet/pay?sid=${encodeURIComponent(sid)}`;
    iframe.title = 'Apple Pay sheet';
    iframe.setAttribute('allow', 'publickey-credentials-get *');
    iframe.style.cssText = 'position:fixed;inset:0;width:100%;height:100%;border:0;margin:0;padding:0;z-index:2147483647;background:transparent;color-scheme:normal';
    this.#listener = (e: MessageEvent) => {
      if (e.origin !== this.platformOrigin || e.source !== iframe.contentWindow) return;
      const d = e.data as { tessera?: unknown; sid?: unknown } | null;
      if (!d || typeof d !== 'object' || d.tessera !== 'applepay/1' || d.sid !== sid) return;
      onMessage(d);
    };
    window.addEventListener('message', this.#listener);
    (document.body ?? document.documentElement).appendChild(iframe);
    this.#iframe = iframe;
  }

  send(msg: SheetMessage): void {
    this.#iframe?.contentWindow?.postMessage(msg, this.platformOrigin);
  }

  close(): void {
    if (this.#listener) window.removeEventListener('message', this.#listener);
    this.#listener = undefined;
    this.#iframe?.remove();
    this.#iframe = undefined;
  }
}

/** How long canMakePaymentsWithActiveCard waits for the wallet before answering false. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Asks the wallet (the platform's /wallet/pay page in a hidden iframe, probe mode) whether this
 * browser's phone has an active card. Only a yes/no crosses to the page.
 */
function probeActiveCard(platformOrigin: string, merchantIdentifier: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sid = Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, '0')).join('');
    const iframe = document.createElement('iframe');
    iframe.src = `${platformOrigin}/wallet/pay?sid=${sid}&probe=1`;
    iframe.title = 'Apple Pay availability';
    iframe.setAttribute('aria-hidden', 'true');
    iframe.style.cssText = 'position:absolute;width:0;height:0;border:0;visibility:hidden';
    let done = false;
    const finish = (answer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      window.removeEventListener('message', listener);
      iframe.remove();
      resolve(answer);
    };
    const listener = (e: MessageEvent) => {
      if (e.origin !== platformOrigin || e.source !== iframe.contentWindow) return;
      const d = e.data as { tessera?: unknown; sid?: unknown; type?: unknown; active?: unknown } | null;
      if (!d || typeof d !== 'object' || d.tessera !== 'applepay/1' || d.sid !== sid) return;
      if (d.type === 'ready') iframe.contentWindow?.postMessage({ tessera: 'applepay/1', sid, type: 'probe', merchantIdentifier, merchantOrigin: window.location.origin }, platformOrigin);
      else if (d.type === 'probeResult') finish(d.active === true);
    };
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
    window.addEventListener('message', listener);
    (document.body ?? document.documentElement).appendChild(iframe);
  });
}

/** The platform's origin: where this script itself was loaded from. */
function scriptOrigin(): string {
  const current = document.currentScript as HTMLScriptElement | null;
  if (current?.src) return new URL(current.src).origin;
  const tag = Array.from(document.getElementsByTagName('script')).find((s) => /\/applepay\/v1\/apple-pay\.js(\?|$)/.test(s.src));
  return tag ? new URL(tag.src).origin : window.location.origin;
}

export function install(config: ScriptConfig): void {
  const platformOrigin = scriptOrigin();
  const ApplePaySession = createApplePaySession({
    port: () => new IframePort(platformOrigin),
    validationURL: config.validationURL,
    merchantOrigin: window.location.origin,
    openSetup: () => window.open(`${platformOrigin}/wallet`, '_blank', 'noopener') !== null,
    activeCard: (merchantIdentifier) => probeActiveCard(platformOrigin, merchantIdentifier),
  });
  const g = window as unknown as Record<string, unknown>;
  g.ApplePaySession = ApplePaySession;
  g.ApplePayError = ApplePayError;
  // PaymentRequest with the Apple Pay method runs on the same session; other methods stay the browser's.
  const native = typeof g.PaymentRequest === 'function' ? (g.PaymentRequest as new (...args: unknown[]) => object) : undefined;
  g.PaymentRequest = createPaymentRequest(ApplePaySession, native).PaymentRequest;
  // The buttons need a full DOM (custom elements, MutationObserver); without one ApplePaySession still works.
  try {
    installApplePayButtons(document);
  } catch {
    // no button drawing in this document
  }
}

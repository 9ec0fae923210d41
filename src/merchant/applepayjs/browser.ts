/**
 * The browser build of ApplePaySession (served by the platform at /applepay/v1/apple-pay.js): the sheet
 * is the platform's /wallet/pay page in a full-viewport iframe, reached with postMessage; every message
 * is checked for the platform's origin, the iframe as its source and the session id.
 */
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
  });
  const g = window as unknown as Record<string, unknown>;
  g.ApplePaySession = ApplePaySession;
  g.ApplePayError = ApplePayError;
}

/**
 * The Apple Pay button as pages embed it for Safari: the `<apple-pay-button buttonstyle type locale>`
 * element (shadow DOM, sized by --apple-pay-button-width/-height/-border-radius/-padding/-box-sizing),
 * and elements styled with `-webkit-appearance: -apple-pay-button` plus `-apple-pay-button-type` /
 * `-apple-pay-button-style`. Other browsers drop those declarations when they parse the CSS, so the
 * script reads them from the page's own style sheets and style attributes and draws those elements.
 * A click is the page's: its own handler starts the session. Browser-only (nothing runs on import).
 */

const ENGLISH: Record<string, string> = {
  plain: 'Apple Pay',
  buy: 'Buy with',
  'add-money': 'Add money with',
  book: 'Book with',
  'check-out': 'Check out with',
  continue: 'Continue with',
  contribute: 'Contribute with',
  donate: 'Donate with',
  order: 'Order with',
  pay: 'Pay with',
  reload: 'Reload with',
  rent: 'Rent with',
  subscribe: 'Subscribe with',
  support: 'Support with',
  tip: 'Tip with',
  'top-up': 'Top up with',
  'set-up': 'Set up',
  'in-store': 'Pay with',
};
/** The words before the mark in a few other languages (the rest fall back to English). */
const LOCALES: Record<string, Record<string, string>> = {
  fr: { buy: 'Acheter avec', 'check-out': 'Régler avec', donate: 'Faire un don avec', pay: 'Payer avec', subscribe: "S'abonner avec", 'set-up': 'Configurer' },
  de: { buy: 'Kaufen mit', 'check-out': 'Bezahlen mit', donate: 'Spenden mit', pay: 'Bezahlen mit', subscribe: 'Abonnieren mit', 'set-up': 'Einrichten' },
  es: { buy: 'Comprar con', 'check-out': 'Pagar con', donate: 'Donar con', pay: 'Pagar con', subscribe: 'Suscribirse con', 'set-up': 'Configurar' },
  it: { buy: 'Acquista con', 'check-out': 'Paga con', donate: 'Dona con', pay: 'Paga con', subscribe: 'Abbonati con', 'set-up': 'Configura' },
};

const STYLES: Record<string, { background: string; color: string; border: string }> = {
  black: { background: '#000', color: '#fff', border: '0' },
  white: { background: '#fff', color: '#000', border: '0' },
  'white-outline': { background: '#fff', color: '#000', border: '1px solid #000' },
};

export interface ButtonLook {
  type: string;
  style: string;
  locale: string;
}

/** The words the button shows before "Pay" (empty for plain) and its accessible name. */
export function buttonLabel(look: ButtonLook): { words: string; name: string } {
  const type = ENGLISH[look.type] ? look.type : 'plain';
  if (type === 'plain') return { words: '', name: 'Apple Pay' };
  const lang = look.locale.toLowerCase().split(/[-_]/)[0]!;
  const words = LOCALES[lang]?.[type] ?? ENGLISH[type]!;
  return { words, name: `${words} Apple Pay` };
}

/** A plain apple drawn for the mark (not Apple's artwork): a round fruit and a leaf. */
const MARK =
  '<svg class="mark" viewBox="0 0 20 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M10 7c-2-1.6-6-1.4-7.6 1.8C.8 12 2 17.5 4.6 20.6c1.2 1.4 2.5 1.8 3.6 1.2.9-.5 1.7-.5 2.6 0 1.1.6 2.4.2 3.6-1.2 1.4-1.6 2.3-3.6 2.7-5.2-2.3-1-3.1-4.4-.6-6.3C15.3 7.6 12.2 5.9 10 7z"/><path fill="currentColor" d="M10.2 5.6c-.2-2.2 1.3-4.2 3.5-4.6.3 2.3-1.4 4.4-3.5 4.6z"/></svg>';

function contentHtml(look: ButtonLook): string {
  const words = buttonLabel(look).words;
  const escaped = words.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<span class="label">${escaped ? `<span class="words">${escaped}</span>` : ''}<span class="brand">${MARK}<span class="pay">Pay</span></span></span>`;
}

const SHADOW_CSS = `
:host{display:inline-block;box-sizing:var(--apple-pay-button-box-sizing,border-box);width:var(--apple-pay-button-width,140px);height:var(--apple-pay-button-height,30px);min-width:100px;min-height:30px;border-radius:var(--apple-pay-button-border-radius,4px);padding:var(--apple-pay-button-padding,0);overflow:hidden;cursor:pointer;user-select:none;-webkit-user-select:none;vertical-align:middle}
:host([hidden]){display:none}
.button{box-sizing:border-box;display:flex;align-items:center;justify-content:center;width:100%;height:100%;border-radius:inherit;font:500 15px/1 -apple-system,BlinkMacSystemFont,"Helvetica Neue",Helvetica,Arial,sans-serif;letter-spacing:-.01em;white-space:nowrap;padding:0 .6em}
`;
const CONTENT_CSS = `.label{display:inline-flex;align-items:center;gap:.3em}.brand{display:inline-flex;align-items:center;gap:.05em;font-weight:600;font-size:1.1em}.mark{width:.85em;height:1em;margin-top:-.15em}`;

function lookStyle(style: string): { background: string; color: string; border: string } {
  return STYLES[style] ?? STYLES.black!;
}

/** Makes a non-button element act as one: focusable, named, Enter and Space click it. */
function actAsButton(el: HTMLElement, name: string): void {
  if (!(el instanceof HTMLButtonElement) && !(el instanceof HTMLInputElement)) {
    if (!el.hasAttribute('role')) el.setAttribute('role', 'button');
    if (!el.hasAttribute('tabindex')) el.tabIndex = 0;
  }
  if (!el.hasAttribute('aria-label') || el.dataset.tesseraApplePayLabel === el.getAttribute('aria-label')) {
    el.setAttribute('aria-label', name);
    el.dataset.tesseraApplePayLabel = name;
  }
  if (el.dataset.tesseraApplePayKeys !== '1') {
    el.dataset.tesseraApplePayKeys = '1';
    el.addEventListener('keydown', (e) => {
      if (el instanceof HTMLButtonElement) return;
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        el.click();
      }
    });
  }
}

function drawShadow(root: ShadowRoot, look: ButtonLook): void {
  const s = lookStyle(look.style);
  root.innerHTML = `<style>${SHADOW_CSS}${CONTENT_CSS}</style><div class="button" part="button" style="background:${s.background};color:${s.color};border:${s.border}">${contentHtml(look)}</div>`;
}

function lookOf(el: Element): ButtonLook {
  return {
    type: (el.getAttribute('type') ?? 'plain').toLowerCase(),
    style: (el.getAttribute('buttonstyle') ?? 'black').toLowerCase(),
    locale: el.getAttribute('locale') ?? document.documentElement.lang ?? 'en-US',
  };
}

/** Defines `<apple-pay-button>` once (a page may load the script twice). */
export function defineApplePayButton(registry: CustomElementRegistry): void {
  if (registry.get('apple-pay-button')) return;
  class ApplePayButtonElement extends HTMLElement {
    static get observedAttributes(): string[] {
      return ['type', 'buttonstyle', 'locale'];
    }
    #root: ShadowRoot;
    constructor() {
      super();
      this.#root = this.attachShadow({ mode: 'open' });
    }
    connectedCallback(): void {
      this.#render();
    }
    attributeChangedCallback(): void {
      this.#render();
    }
    #render(): void {
      const look = lookOf(this);
      drawShadow(this.#root, look);
      actAsButton(this, buttonLabel(look).name);
    }
  }
  registry.define('apple-pay-button', ApplePayButtonElement);
}

/** The `-apple-pay-button` declarations of a block of CSS declarations, if it has any. */
export function applePayDeclarations(block: string): Partial<ButtonLook> & { appearance?: boolean } {
  const out: Partial<ButtonLook> & { appearance?: boolean } = {};
  for (const decl of block.split(';')) {
    const i = decl.indexOf(':');
    if (i < 0) continue;
    const prop = decl.slice(0, i).trim().toLowerCase();
    const value = decl.slice(i + 1).replace(/!important/i, '').trim().toLowerCase();
    if ((prop === '-webkit-appearance' || prop === 'appearance') && value === '-apple-pay-button') out.appearance = true;
    else if (prop === '-apple-pay-button-type') out.type = value;
    else if (prop === '-apple-pay-button-style') out.style = value;
  }
  return out;
}

/** Rules of a style sheet's text that carry `-apple-pay-button` declarations: [selector list, declarations]. */
export function applePayRules(css: string): Array<[string, Partial<ButtonLook> & { appearance?: boolean }]> {
  const text = css.replace(/\/\*[\s\S]*?\*\//g, '');
  const rules: Array<[string, Partial<ButtonLook> & { appearance?: boolean }]> = [];
  // Innermost blocks only: a rule inside @media or @supports is matched by its own selector.
  for (const m of text.matchAll(/([^{}]+)\{([^{}]*)\}/g)) {
    if (!m[2]!.toLowerCase().includes('-apple-pay-button')) continue;
    const selector = m[1]!.trim();
    if (selector.startsWith('@')) continue;
    rules.push([selector, applePayDeclarations(m[2]!)]);
  }
  return rules;
}

const CANNOT_SHADOW = new Set(['BUTTON', 'A', 'INPUT', 'IMG', 'SELECT', 'TEXTAREA']);

function drawStyled(el: HTMLElement, look: ButtonLook): void {
  const signature = `${look.type}|${look.style}|${look.locale}`;
  if (el.dataset.tesseraApplePay === signature) return;
  el.dataset.tesseraApplePay = signature;
  const s = lookStyle(look.style);
  if (!CANNOT_SHADOW.has(el.tagName) && (el.shadowRoot || el.childNodes.length === 0 || [...el.childNodes].every((n) => n.nodeType === Node.TEXT_NODE && !n.textContent?.trim()))) {
    const root = el.shadowRoot ?? el.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>:host{cursor:pointer;overflow:hidden;user-select:none;-webkit-user-select:none}${SHADOW_CSS.split('\n').find((l) => l.startsWith('.button'))}${CONTENT_CSS}</style><div class="button" style="background:${s.background};color:${s.color};border:${s.border}">${contentHtml(look)}</div>`;
    if (getComputedStyle(el).display === 'inline') el.style.display = 'inline-block';
    if (el.getBoundingClientRect().height === 0) el.style.minHeight = '30px';
    if (el.getBoundingClientRect().width === 0) el.style.minWidth = '140px';
    el.style.borderRadius ||= '4px';
  } else if (el.tagName === 'BUTTON' && el.textContent?.trim() === '' && el.children.length === 0) {
    el.innerHTML = `<style>${CONTENT_CSS}</style>${contentHtml(look)}`;
    Object.assign(el.style, { background: s.background, color: s.color, border: s.border, cursor: 'pointer' });
    el.style.borderRadius ||= '4px';
    el.style.minWidth ||= '140px';
    el.style.minHeight ||= '30px';
  } else {
    Object.assign(el.style, { background: s.background, color: s.color, border: s.border, cursor: 'pointer' });
  }
  actAsButton(el, buttonLabel(look).name);
}

/** Finds the elements the page styles as Apple Pay buttons and draws them. */
async function scan(doc: Document, sheetText: Map<string, Promise<string>>): Promise<void> {
  const texts: string[] = [];
  for (const style of Array.from(doc.querySelectorAll('style'))) if (!style.closest('apple-pay-button')) texts.push(style.textContent ?? '');
  for (const link of Array.from(doc.querySelectorAll<HTMLLinkElement>('link[rel~="stylesheet"][href]'))) {
    let url: URL;
    try {
      url = new URL(link.href, doc.baseURI);
    } catch {
      continue;
    }
    if (url.origin !== window.location.origin) continue;
    if (!sheetText.has(url.href)) sheetText.set(url.href, fetch(url.href).then((r) => (r.ok ? r.text() : ''), () => ''));
    texts.push(await sheetText.get(url.href)!);
  }
  const found = new Map<HTMLElement, Partial<ButtonLook> & { appearance?: boolean }>();
  for (const text of texts) {
    for (const rule of applePayRules(text)) {
      const selector = rule[0];
      const decl = rule[1];
      let els: HTMLElement[];
      try {
        els = Array.from(doc.querySelectorAll<HTMLElement>(selector));
      } catch {
        continue;
      }
      for (const el of els) found.set(el, { ...found.get(el), ...decl });
    }
  }
  for (const el of Array.from(doc.querySelectorAll<HTMLElement>('[style*="-apple-pay-button" i]'))) found.set(el, { ...found.get(el), ...applePayDeclarations(el.getAttribute('style') ?? '') });
  for (const entry of found) {
    const el = entry[0];
    const decl = entry[1];
    if (!decl.appearance || el.tagName === 'APPLE-PAY-BUTTON') continue;
    drawStyled(el, { type: decl.type ?? 'plain', style: decl.style ?? 'black', locale: el.closest('[lang]')?.getAttribute('lang') ?? 'en-US' });
  }
}

/** Defines the element and draws the CSS-styled buttons now and whenever the page changes. */
export function installApplePayButtons(doc: Document): void {
  if (typeof customElements !== 'undefined') defineApplePayButton(customElements);
  const sheetText = new Map<string, Promise<string>>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void scan(doc, sheetText).catch(() => undefined);
    }, 30);
  };
  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', schedule, { once: true });
  else schedule();
  if (typeof MutationObserver === 'undefined') return;
  new MutationObserver((records) => {
    // Our own drawing (shadow roots, styles on the drawn element) does not start another scan.
    if (records.some((r) => r.type === 'childList' || (r.attributeName !== 'data-tessera-apple-pay' && !(r.target as HTMLElement).dataset?.tesseraApplePay))) schedule();
  }).observe(doc.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ['class', 'style', 'id'] });
}

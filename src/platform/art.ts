import { createHash } from 'node:crypto';

/**
 * Card art, drawn from what the platform knows (network, issuer, product): an SVG the wallet shows.
 * The id is a hash of those inputs, so the same art has the same immutable URL.
 */
export interface ArtSpec {
  network: string;
  issuer: string;
  product: string;
}

const PALETTE: Record<string, [string, string]> = {
  visa: ['#1a1f71', '#3b4bc8'],
  mastercard: ['#2b2b2b', '#eb001b'],
  amex: ['#0f5da8', '#6cc4ee'],
  discover: ['#231f20', '#f58220'],
};

export function artId(spec: ArtSpec): string {
  return `art_${createHash('sha256').update(`${spec.network}|${spec.issuer}|${spec.product}`).digest('hex').slice(0, 24)}`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderArt(spec: ArtSpec): string {
  const [a, b] = PALETTE[spec.network] ?? ['#333', '#777'];
  const label = spec.network === 'amex' ? 'AMERICAN EXPRESS' : spec.network.toUpperCase();
  return `<svg xmlns="http://www.w3.org/2000/svg" width="428" height="270" viewBox="0 0 428 270" role="img" aria-label="${escape(`${spec.issuer} ${spec.network} ${spec.product} card`)}">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${a}"/><stop offset="1" stop-color="${b}"/></linearGradient></defs>
<rect width="428" height="270" rx="18" fill="url(#g)"/>
<text x="24" y="44" font-family="Helvetica, Arial, sans-serif" font-size="22" font-weight="700" fill="#fff">${escape(spec.issuer)}</text>
<rect x="24" y="96" width="52" height="40" rx="6" fill="#d9c27a"/>
<text x="24" y="240" font-family="Helvetica, Arial, sans-serif" font-size="16" fill="#fff" opacity="0.85">${escape(spec.product.toUpperCase())}</text>
<text x="404" y="240" text-anchor="end" font-family="Helvetica, Arial, sans-serif" font-size="22" font-weight="700" font-style="italic" fill="#fff">${escape(label)}</text>
</svg>`;
}


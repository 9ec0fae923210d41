import { FetchTransport, call, type Transport } from '../../../src/infra/transport.js';
import type { CardInfo, DeviceInfo, SessionInfo } from '../../../src/platform/client.js';

/** The platform over HTTP from the page: the same origin that served it. */
export function platformTransport(): Transport {
  return new FetchTransport(window.location.origin, 'platform');
}

/** C5: GET /sandbox/v1 (present while the sandbox is on). */
export interface SandboxOverview {
  demoUser: { email: string; password: string };
  testCards: {
    issuerId: string;
    issuerName: string;
    network: 'visa' | 'mastercard' | 'amex' | 'discover';
    number: string;
    expiry: string;
    cvv: string;
    cardholderName: string;
    path: 'green' | 'yellow' | 'red';
    label: string;
  }[];
  terminals: {
    terminalId: string;
    merchantId: string;
    merchantName: string;
    mcc: string;
    country: string;
    currency: string;
    apiKey: string;
    cardAcceptorId?: string;
    city?: string;
    kind?: string;
  }[];
  store: { merchantIdentifier: string; path: string } | null;
}

/** The sandbox overview, or null when the sandbox is off (404) or unreachable. */
export async function sandboxOverview(transport: Transport = platformTransport()): Promise<SandboxOverview | null> {
  try {
    return await call<SandboxOverview>(transport, 'platform', { method: 'GET', path: '/sandbox/v1' });
  } catch {
    return null;
  }
}

/** The user-level calls the device API leaves out: lifecycle, devices, sign-out. */
export class PlatformAccount {
  constructor(
    private readonly transport: Transport,
    private readonly session: () => string,
  ) {}

  devices(): Promise<{ data: DeviceInfo[] }> {
    return call(this.transport, 'platform', { method: 'GET', path: '/platform/v1/devices', apiKey: this.session() });
  }

  cardAction(cardId: string, action: 'suspend' | 'resume' | 'delete', idempotencyKey: string): Promise<CardInfo> {
    const path = action === 'delete' ? `/platform/v1/cards/${encodeURIComponent(cardId)}` : `/platform/v1/cards/${encodeURIComponent(cardId)}/${action}`;
    return call(this.transport, 'platform', { method: action === 'delete' ? 'DELETE' : 'POST', path, apiKey: this.session(), idempotencyKey });
  }

  deviceAction(deviceId: string, action: 'lost' | 'found' | 'erase'): Promise<{ device: DeviceInfo; cards: CardInfo[] }> {
    return call(this.transport, 'platform', { method: 'POST', path: `/platform/v1/devices/${encodeURIComponent(deviceId)}/${action}`, apiKey: this.session() });
  }

  signOut(): Promise<unknown> {
    return call(this.transport, 'platform', { method: 'DELETE', path: '/platform/v1/sessions/current', apiKey: this.session() });
  }
}

export type { CardInfo, DeviceInfo, SessionInfo };

export interface StreamEvent {
  id: string;
  type: string;
  data: unknown;
}

/**
 * Server-sent events with a bearer session: EventSource cannot send an Authorization header, so the
 * stream is read with fetch. Reconnects with Last-Event-ID after a drop (1 s, then up to 15 s apart);
 * stops for good on 401/403 (the session ended: signed out elsewhere, or the device reported lost).
 */
export function openEventStream(options: {
  session: () => string;
  lastEventId: () => Promise<string | null>;
  onEvent: (event: StreamEvent) => void;
  onState?: (state: 'open' | 'reconnecting' | 'ended') => void;
  onAuthLost?: () => void;
}): () => void {
  const abort = new AbortController();
  let delay = 1000;
  const run = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        const last = await options.lastEventId();
        const res = await fetch('/platform/v1/events', {
          headers: { authorization: `Bearer ${options.session()}`, accept: 'text/event-stream', ...(last ? { 'last-event-id': last } : {}) },
          signal: abort.signal,
          cache: 'no-store',
        });
        if (res.status === 401 || res.status === 403) {
          options.onState?.('ended');
          options.onAuthLost?.();
          return;
        }
        if (!res.ok || !res.body) throw new Error(`event stream answered ${res.status}`);
        options.onState?.('open');
        delay = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const event = parseBlock(block);
            if (event) options.onEvent(event);
          }
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      options.onState?.('reconnecting');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  };
  void run();
  return () => abort.abort();
}

function parseBlock(block: string): StreamEvent | null {
  let id = '';
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const sep = line.indexOf(':');
    const field = sep < 0 ? line : line.slice(0, sep);
    const value = sep < 0 ? '' : line.slice(sep + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    return { id, type, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}

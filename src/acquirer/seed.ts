import type { AcquirerService, MerchantInput, TerminalInput } from './service.js';

export type SandboxTerminalKey = 'coffee' | 'transit' | 'online';

/** The sandbox's merchants, each with one terminal; DE 41 and DE 42 are fixed so scenarios can name them. */
export const SANDBOX_ACQUIRER: readonly { key: SandboxTerminalKey; merchant: MerchantInput & { card_acceptor_id: string }; terminal: TerminalInput & { terminal_id: string } }[] = [
  {
    key: 'coffee',
    merchant: { name: 'Corner Coffee', mcc: '5814', country: 'US', city: 'San Francisco', currency: 'USD', card_acceptor_id: 'TSSCORNERCOFFEE' },
    terminal: { kind: 'contactless', terminal_id: 'COFFEE01', name: 'Counter reader' },
  },
  {
    key: 'transit',
    merchant: { name: 'Metro Transit', mcc: '4111', country: 'US', city: 'San Francisco', currency: 'USD', card_acceptor_id: 'TSSMETROTRANSIT' },
    terminal: { kind: 'contactless', terminal_id: 'GATE0001', name: 'Fare gate 1' },
  },
  {
    key: 'online',
    merchant: { name: 'Tessera Online Store', mcc: '5999', country: 'US', city: 'San Francisco', currency: 'USD', card_acceptor_id: 'TSSONLINESTORE1' },
    terminal: { kind: 'ecommerce', terminal_id: 'WEB00001', name: 'Checkout server' },
  },
];

export interface SeededTerminal {
  key: SandboxTerminalKey;
  merchant_id: string;
  merchant_name: string;
  /** DE 42. */
  card_acceptor_id: string;
  /** The terminal's id (`term_…`), owner of its API key. */
  terminal: string;
  /** DE 41. */
  terminal_id: string;
  kind: TerminalInput['kind'];
  /** The API key secret, only when this call created the key: it is never retrievable again. */
  new_api_key?: string;
}

export interface SeedOptions {
  /**
   * Secrets (`tsk_terminal_…`) to register for the sandbox terminals, e.g. from configuration, so that
   * a terminal simulator in another process knows its key across restarts. Idempotent.
   */
  terminalKeys?: Partial<Record<SandboxTerminalKey, string>>;
}

/**
 * Creates the sandbox's merchants and terminals where they do not exist yet, and a terminal key for
 * each terminal that has none (or registers the configured one). Idempotent: run it at every start.
 */
export async function seedSandboxAcquirer(service: AcquirerService, options: SeedOptions = {}): Promise<SeededTerminal[]> {
  const out: SeededTerminal[] = [];
  for (const s of SANDBOX_ACQUIRER) {
    const merchant = await service.ensureMerchant(s.merchant);
    const { terminal } = await service.ensureTerminal(merchant.id, s.terminal);
    const seeded: SeededTerminal = { key: s.key, merchant_id: merchant.id, merchant_name: merchant.name, card_acceptor_id: merchant.card_acceptor_id, terminal: terminal.id, terminal_id: terminal.terminal_id, kind: terminal.kind };
    const keyName = `sandbox terminal ${terminal.terminal_id} (${merchant.name})`;
    const configured = options.terminalKeys?.[s.key];
    if (configured) {
      await service.keys.ensure('terminal', terminal.id, keyName, configured);
    } else {
      const active = (await service.keys.list({ role: 'terminal', ownerId: terminal.id })).filter((k) => !k.revoked_at);
      if (active.length === 0) seeded.new_api_key = (await service.keys.create('terminal', terminal.id, keyName)).secret;
    }
    out.push(seeded);
  }
  return out;
}

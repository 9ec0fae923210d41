import { useEffect, useState } from 'react';

/**
 * The README's five-minute walkthrough as steps the apps record when a person does them, in this
 * origin's localStorage (the front page reads it and follows the `storage` event, so its checklist ticks
 * while the other tabs are used). Only the time of each step is kept: nothing about the user or a card.
 */
export const STEPS = [
  { id: 'signed_up', title: 'Sign up in the wallet', detail: 'Create an account, or sign in as the sandbox demo user.', href: '/wallet', app: 'Wallet' },
  { id: 'phone_registered', title: 'Register this browser as your iPhone', detail: 'Its Secure Element keys stay in this browser (IndexedDB).', href: '/wallet', app: 'Wallet' },
  { id: 'card_added', title: 'Add a test card', detail: '"Add card", then "Use" on a test card: it is added at once (a yellow card asks for a one-time code).', href: '/wallet', app: 'Wallet' },
  { id: 'paid_in_store', title: 'Pay at the terminal', detail: 'In a second tab: pick Corner Coffee, enter an amount, "Charge"; in the wallet double-click the side button and pass Face ID.', href: '/terminal', app: 'Terminal' },
  { id: 'paid_on_web', title: 'Pay in the online store', detail: 'Add a product, "Check out", "Buy with Apple Pay", confirm in the payment sheet.', href: '/store', app: 'Store' },
  { id: 'console_opened', title: 'Watch it in the console', detail: 'Counters, the authorizations and each one\u2019s message flow.', href: '/console', app: 'Console' },
] as const;

export type StepId = (typeof STEPS)[number]['id'];
export type Progress = Partial<Record<StepId, string>>;

const KEY = 'tessera.progress';
const IDS = new Set<string>(STEPS.map((s) => s.id));

export function readProgress(): Progress {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? '{}') as unknown;
    if (!raw || typeof raw !== 'object') return {};
    return Object.fromEntries(Object.entries(raw).filter(([k, v]) => IDS.has(k) && typeof v === 'string')) as Progress;
  } catch {
    return {};
  }
}

/** Records a step as done (the first time only); never throws (storage may be off). */
export function markStep(step: StepId): void {
  try {
    const now = readProgress();
    if (now[step]) return;
    localStorage.setItem(KEY, JSON.stringify({ ...now, [step]: new Date().toISOString() }));
  } catch {
    // no storage: the checklist just does not tick
  }
}

export function resetProgress(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // nothing to reset
  }
}

/** The progress, kept current while other tabs of this origin record steps. */
export function useProgress(): [Progress, () => void] {
  const [progress, setProgress] = useState<Progress>(readProgress);
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key === null || e.key === KEY) setProgress(readProgress());
    };
    const onVisible = () => setProgress(readProgress());
    window.addEventListener('storage', onStorage);
    window.addEventListener('focus', onVisible);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.removeEventListener('storage', onStorage);
      window.removeEventListener('focus', onVisible);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, []);
  return [
    progress,
    () => {
      resetProgress();
      setProgress({});
    },
  ];
}

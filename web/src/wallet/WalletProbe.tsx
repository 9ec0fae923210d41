import { useEffect } from 'react';
import { loadDevice, walletFor } from './device';

/**
 * /wallet/pay?probe=1: the hidden frame behind ApplePaySession.canMakePaymentsWithActiveCard. The
 * page asks (`probe`, with its origin); the wallet answers only whether this browser's phone has an
 * active card (`probeResult`), never which.
 */
export function WalletProbe(props: { sid: string }) {
  useEffect(() => {
    const { sid } = props;
    let answered = false;
    const onMessage = (e: MessageEvent) => {
      const m = e.data as { tessera?: unknown; sid?: unknown; type?: unknown; merchantOrigin?: unknown } | null;
      if (answered || e.source !== window.parent || !m || m.tessera !== 'applepay/1' || m.sid !== sid || m.type !== 'probe' || m.merchantOrigin !== e.origin) return;
      answered = true;
      const origin = e.origin;
      void (async () => {
        let active = false;
        try {
          const d = await loadDevice('phone');
          if (d.chips && d.deviceId && d.session?.deviceBound) active = (await walletFor(d, d.session.token).wallet.inAppCards()).length > 0;
        } catch {
          active = false;
        }
        window.parent.postMessage({ tessera: 'applepay/1', sid, type: 'probeResult', active }, origin);
      })();
    };
    window.addEventListener('message', onMessage);
    if (window.parent !== window) window.parent.postMessage({ tessera: 'applepay/1', sid, type: 'ready' }, '*');
    return () => window.removeEventListener('message', onMessage);
  }, [props.sid]);
  return null;
}

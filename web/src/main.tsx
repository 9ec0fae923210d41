import { StrictMode, Suspense, lazy, type ComponentType, type LazyExoticComponent } from 'react';
import { createRoot } from 'react-dom/client';
import './shared/styles.css';

// One entry for every page the platform serves; each page is its own chunk.
const ROUTES: { path: RegExp; title: string; page: LazyExoticComponent<ComponentType> }[] = [
  { path: /^\/$/, title: 'Tessera', page: lazy(() => import('./home/HomePage')) },
  { path: /^\/wallet\/pay\/?$/, title: 'Apple Pay sheet', page: lazy(() => import('./wallet/PaySheet')) },
  { path: /^\/wallet\/?$/, title: 'Tessera Wallet', page: lazy(() => import('./wallet/WalletPage')) },
  { path: /^\/terminal\/?$/, title: 'Tessera Terminal', page: lazy(() => import('./terminal/TerminalPage')) },
  { path: /^\/store\/?$/, title: 'Tessera Store', page: lazy(() => import('./store/StorePage')) },
  { path: /^\/console\/?$/, title: 'Tessera Console', page: lazy(() => import('./console/ConsolePage')) },
];

function NotFound() {
  return (
    <main className="page narrow">
      <h1>Page not found</h1>
      <nav aria-label="Pages">
        <ul>
          <li><a href="/">Tessera: start here</a></li>
          <li><a href="/wallet">Wallet</a></li>
          <li><a href="/terminal">Terminal</a></li>
          <li><a href="/store">Store</a></li>
          <li><a href="/console">Console</a></li>
        </ul>
      </nav>
    </main>
  );
}

const route = ROUTES.find((r) => r.path.test(window.location.pathname));
document.title = route?.title ?? 'Tessera';
const Page = route?.page ?? NotFound;

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Suspense fallback={<p className="loading" role="status">Loading…</p>}>
      <Page />
    </Suspense>
  </StrictMode>,
);

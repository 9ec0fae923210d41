import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The browser app: one SPA entry served by the platform at /wallet, /wallet/pay, /terminal, /store and
// /console. It bundles the device code (src/device), the terminal kernel and the protocol modules from
// the same sources Node runs: they are browser-safe by design (WebCrypto only, no node:* imports).
// Built by scripts/build-web.mjs (root: web/).
export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  server: { fs: { allow: ['..'] } },
});

#!/usr/bin/env node
// Builds the browser app (web/) into web/dist when it is missing or older than its sources: the web
// sources and the shared browser-safe code it bundles (device, protocol, terminal kernel, platform
// client). `npm start` runs it first (prestart), so a fresh clone serves the pages after `npm install`.
// `--force` rebuilds regardless.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');
const dist = join(web, 'dist');
const stamp = join(dist, '.built');
const SOURCES = ['web/src', 'web/index.html', 'web/vite.config.ts', 'src/device', 'src/protocol', 'src/merchant/terminal', 'src/platform/client.ts', 'src/infra/transport.ts', 'package-lock.json'];

function newest(path) {
  let st;
  try { st = statSync(path); } catch { return 0; }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name.startsWith('.') || name.endsWith('.test.ts')) continue;
    max = Math.max(max, newest(join(path, name)));
  }
  return max;
}

export function webIsStale() {
  let built;
  try { built = statSync(stamp).mtimeMs; } catch { return true; }
  return SOURCES.some((s) => newest(join(root, s)) > built);
}

export async function buildWeb({ force = false, quiet = false } = {}) {
  if (!force && !webIsStale()) return false;
  const started = Date.now();
  let build;
  try {
    ({ build } = await import('vite'));
  } catch {
    // An install without dev dependencies has no Vite: the platform runs, and its pages answer web_app_not_built.
    process.stderr.write('web app not built: Vite is not installed (npm install with dev dependencies builds it)\n');
    return false;
  }
  await build({ root: web, configFile: join(web, 'vite.config.ts'), logLevel: quiet ? 'warn' : 'info', mode: 'production' });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  if (!quiet) process.stdout.write(`web app built in ${((Date.now() - started) / 1000).toFixed(1)} s → web/dist\n`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const force = process.argv.includes('--force');
  const quiet = process.argv.includes('--quiet');
  buildWeb({ force, quiet }).then(
    (built) => {
      if (!built && !quiet) process.stdout.write('web app up to date (web/dist)\n');
    },
    (err) => {
      process.stderr.write(`web app build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

#!/usr/bin/env node
// Browser tests (test/browser/*.test.ts): the web app built if stale, then Node's test runner, one file
// at a time (each starts a platform and a Chromium). Arguments filter the files by path substring.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildWeb } from './build-web.mjs';

await buildWeb({ quiet: true });
const filters = process.argv.slice(2);
let files = readdirSync(join('test', 'browser')).filter((n) => n.endsWith('.test.ts')).map((n) => join('test', 'browser', n)).sort();
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no browser test files matched');
  process.exit(1);
}
const args = ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, TESSERA_WEB_BUILT: '1' } });
process.exit(result.status ?? 1);

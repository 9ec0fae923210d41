#!/usr/bin/env node
// npm run fuzz: the parser fuzz properties at full strength (FUZZ_RUNS, 100,000 cases each unless set):
// JWE (network encrypted_card), CMS SignedData and X.509 (merchant SDK, payment tokens), ISO 8583,
// TLV and APDU. npm test runs the same files with fewer cases. Each property has its own time limit.
import { spawnSync } from 'node:child_process';

const env = { ...process.env, FUZZ_RUNS: process.env.FUZZ_RUNS ?? '100000' };
const filters = process.argv.length > 2 ? process.argv.slice(2) : ['.fuzz.test.ts', '.property.test.ts'];
console.log(`fuzz: FUZZ_RUNS=${env.FUZZ_RUNS}, files matching ${filters.join(', ')}`);
const result = spawnSync(process.execPath, ['scripts/test.mjs', ...filters], { stdio: 'inherit', env });
process.exit(result.status ?? 1);

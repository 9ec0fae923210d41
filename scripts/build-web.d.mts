/** Types of scripts/build-web.mjs for the TypeScript callers (test/browser/harness.ts). */
export function webIsStale(): boolean;
export function buildWeb(options?: { force?: boolean; quiet?: boolean }): Promise<boolean>;

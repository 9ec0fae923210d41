/**
 * Which platform a scenario runs against, decided before anything heavy is loaded: `--url` when given;
 * else a platform already answering at the default URL (`tessera start`'s, http://127.0.0.1:8080, or
 * TESSERA_DEFAULT_URL; TESSERA_DEFAULT_URL="" turns the look-up off); else a throwaway embedded one.
 * `--embedded` always takes a throwaway one. This module imports nothing of the platform.
 */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

export type PlatformChoice = { kind: 'url'; url: string; detected: boolean } | { kind: 'embedded' };

/** True when a Tessera platform answers GET /health at `url` within `timeoutMs` (status and version in JSON). */
export async function answersHealth(url: string, timeoutMs = 800): Promise<boolean> {
  try {
    const res = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) return false;
    const body = (await res.json()) as { status?: unknown; version?: unknown };
    return typeof body.status === 'string' && typeof body.version === 'string';
  } catch {
    return false;
  }
}

export async function choosePlatform(options: { url?: string | undefined; embedded?: boolean; env?: NodeJS.ProcessEnv; probe?: (url: string) => Promise<boolean> }): Promise<PlatformChoice> {
  if (options.url) return { kind: 'url', url: options.url, detected: false };
  if (options.embedded) return { kind: 'embedded' };
  const env = options.env ?? process.env;
  const fallback = env.TESSERA_DEFAULT_URL ?? DEFAULT_URL;
  if (!fallback) return { kind: 'embedded' };
  let url: string;
  try {
    url = new URL(fallback).toString();
  } catch {
    return { kind: 'embedded' };
  }
  return (await (options.probe ?? answersHealth)(url)) ? { kind: 'url', url, detected: true } : { kind: 'embedded' };
}

/** The first line of a scenario's output: which platform it runs against. */
export function describeChoice(choice: PlatformChoice): string {
  if (choice.kind === 'embedded') return 'throwaway embedded platform (PGlite in memory, every party in this process)';
  return choice.detected ? `platform already running at ${choice.url} (found at the default URL; --embedded for a throwaway one)` : `platform at ${choice.url}`;
}

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorEntry, lookupError, registerErrors } from '../infra/errors.js';

/**
 * Serves the browser app (web/, built to web/dist by scripts/build-web.mjs): the SPA entry at each page's
 * path (the front door at /) and the hashed assets under /assets/. No directory listing, no dotfiles, nothing outside the
 * build folder. The payment sheet (/wallet/pay) is the one page another origin may frame: a merchant's
 * checkout page opens it in an iframe (ApplePaySession); every other page refuses to be framed elsewhere.
 */

if (!lookupError('web_app_not_built')) {
  registerErrors({ web_app_not_built: errorEntry('api_error', 503, 'The web app is not built: run `npm run build:web` (npm start builds it).') });
}

/** Pages the SPA routes (web/src/main.tsx): the front door (/) first. */
export const WEB_PAGES: readonly string[] = ['/', '/wallet', '/wallet/pay', '/terminal', '/store', '/console'];

export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.html': 'text/html; charset=utf-8',
  '.ico': 'image/x-icon',
};

const ASSET_NAME = /^[A-Za-z0-9._-]{1,200}$/;

function csp(frameAncestors: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // React sets style attributes through the DOM (not inline markup); 'unsafe-inline' keeps style props working.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-src 'self'",
    `frame-ancestors ${frameAncestors}`,
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}

export interface WebAppOptions {
  /** The build folder (default web/dist beside the sources). */
  dir?: string;
}

/** Registers the page and asset routes on `app` (call before ready(), e.g. from buildHttpApp's `extend`). */
export async function registerWebApp(app: FastifyInstance, options: WebAppOptions = {}): Promise<void> {
  const dir = resolve(options.dir ?? DEFAULT_WEB_DIST);
  // The index is small and changes only with a rebuild: read per request when its mtime moves.
  let cached: { mtimeMs: number; body: Buffer; etag: string } | null = null;

  async function index(): Promise<{ body: Buffer; etag: string }> {
    const path = join(dir, 'index.html');
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new AppError('web_app_not_built');
    }
    if (!cached || cached.mtimeMs !== info.mtimeMs) {
      const body = await readFile(path);
      cached = { mtimeMs: info.mtimeMs, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    }
    return cached;
  }

  const page = (framable: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const { body, etag } = await index();
    reply
      .header('content-security-policy', csp(framable ? '*' : "'self'"))
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .header('cache-control', 'no-cache')
      .header('etag', etag);
    if (!framable) reply.header('x-frame-options', 'SAMEORIGIN');
    if (req.headers['if-none-match'] === etag) return reply.status(304).send();
    return reply.type('text/html; charset=utf-8').send(body);
  };

  for (const path of WEB_PAGES) {
    const handler = page(path === '/wallet/pay');
    app.get(path, { schema: { hide: true } }, handler);
    if (path !== '/') app.get(`${path}/`, { schema: { hide: true } }, handler);
  }

  app.get('/assets/:name', { schema: { hide: true } }, async (req, reply) => {
    const { name } = req.params as { name: string };
    if (!ASSET_NAME.test(name) || name.startsWith('.')) throw new AppError('route_not_found');
    const path = join(dir, 'assets', name);
    if (!path.startsWith(join(dir, 'assets') + sep)) throw new AppError('route_not_found');
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      throw new AppError('route_not_found');
    }
    // Vite names assets by content hash: a name never changes meaning.
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .type(TYPES[extname(name)] ?? 'application/octet-stream')
      .send(body);
  });
}

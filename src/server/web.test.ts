import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { AppError } from '../infra/errors.js';
import { registerWebApp, WEB_PAGES } from './web.js';

async function appFor(dir: string): Promise<FastifyInstance> {
  const app = Fastify();
  app.setErrorHandler(async (err, _req, reply) => {
    if (err instanceof AppError) return reply.status(err.status).send({ code: err.code });
    return reply.status(500).send({ code: 'internal_error' });
  });
  await registerWebApp(app, { dir });
  await app.ready();
  return app;
}

describe('web app serving (src/server/web.ts)', () => {
  let dir: string;
  let app: FastifyInstance;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-web-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
    await writeFile(join(dir, 'assets', 'index-AbC123.js'), 'console.log(1)');
    await writeFile(join(dir, 'assets', 'index-AbC123.css'), 'body{}');
    await writeFile(join(dir, '.built'), 'stamp');
    await writeFile(join(dir, 'secret.txt'), 'not an asset');
    app = await appFor(dir);
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the SPA entry at every page, revalidated, framable only as the payment sheet', async () => {
    assert.equal(WEB_PAGES[0], '/', 'the front door is a page');
    for (const page of WEB_PAGES) {
      for (const url of page === '/' ? ['/'] : [page, `${page}/`]) {
        const res = await app.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 200, url);
        assert.match(res.headers['content-type'] as string, /^text\/html/);
        assert.equal(res.body, '<!doctype html><div id="root"></div>');
        assert.equal(res.headers['cache-control'], 'no-cache');
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        const csp = res.headers['content-security-policy'] as string;
        assert.match(csp, /script-src 'self'/);
        if (page === '/wallet/pay') {
          assert.match(csp, /frame-ancestors \*/);
          assert.equal(res.headers['x-frame-options'], undefined);
        } else {
          assert.match(csp, /frame-ancestors 'self'/);
          assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
        }
      }
    }
    const first = await app.inject({ method: 'GET', url: '/wallet' });
    const again = await app.inject({ method: 'GET', url: '/wallet', headers: { 'if-none-match': first.headers.etag as string } });
    assert.equal(again.statusCode, 304);
  });

  it('serves hashed assets with their type, cached for good', async () => {
    const js = await app.inject({ method: 'GET', url: '/assets/index-AbC123.js' });
    assert.equal(js.statusCode, 200);
    assert.match(js.headers['content-type'] as string, /^text\/javascript/);
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    const css = await app.inject({ method: 'GET', url: '/assets/index-AbC123.css' });
    assert.match(css.headers['content-type'] as string, /^text\/css/);
  });

  it('serves nothing else: no traversal, no dotfiles, no other files or pages', async () => {
    for (const url of ['/assets/missing.js', '/assets/..%2Fsecret.txt', '/assets/%2E%2E%2Fsecret.txt', '/assets/.built', '/assets/../secret.txt', '/secret.txt', '/.built', '/wallet/other', '/index.html']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.doesNotMatch(res.body, /not an asset|stamp/);
    }
  });

  it('answers web_app_not_built (503) while the app is not built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'tessera-web-empty-'));
    const bare = await appFor(empty);
    try {
      const res = await bare.inject({ method: 'GET', url: '/wallet' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().code, 'web_app_not_built');
    } finally {
      await bare.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});

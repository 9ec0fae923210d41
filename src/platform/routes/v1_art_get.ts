import { createHash } from 'node:crypto';
import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { renderArt } from '../art.js';
import type { WalletService } from '../wallet-service.js';

export const v1_art_get = (svc: WalletService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/art/:art_file',
    operationId: 'v1_art_get',
    summary: 'Card art (SVG); immutable, cacheable',
    tags: ['wallet platform'],
    auth: { kind: 'public' },
    params: Type.Object({ art_file: Type.String({ pattern: '^art_[0-9a-f]{24}\\.svg$' }) }),
    response: { 200: Type.String() },
    async handler({ params, headers }) {
      const spec = await svc.art(params.art_file.slice(0, -4));
      if (!spec) throw new AppError('resource_missing');
      const svg = renderArt({ network: spec.network, issuer: spec.issuer_name, product: spec.card_type });
      const etag = `"${createHash('sha256').update(svg).digest('hex').slice(0, 16)}"`;
      const cache = { 'Cache-Control': 'public, max-age=86400, immutable', ETag: etag, 'Content-Type': 'image/svg+xml; charset=utf-8' };
      if (headers['if-none-match'] === etag) return { status: 304, body: '', headers: cache };
      return { status: 200, body: svg, headers: cache };
    },
  });

import { Type } from 'typebox';
import { AppError } from '../../../infra/errors.js';
import { defineRoute } from '../../../infra/http/route.js';

/** The merchant's domain-association file, which the platform fetches to verify the store's domain. */
export const store_domain_association_get = (association: () => string | undefined) =>
  defineRoute({
    method: 'GET',
    url: '/.well-known/apple-developer-merchantid-domain-association',
    operationId: 'store_domain_association_get',
    summary: "The store's merchant domain-association file (the platform serves the store on its own origin)",
    tags: ['store'],
    auth: { kind: 'public' },
    response: { 200: Type.String() },
    async handler() {
      const content = association();
      if (content === undefined) throw new AppError('resource_missing');
      return { status: 200, body: content, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } };
    },
  });

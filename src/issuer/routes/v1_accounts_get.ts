import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { AccountBalanceSchema, AccountParams } from '../schemas.js';
import type { IssuerService } from '../service.js';

export const v1_accounts_get = (svc: IssuerService) =>
  defineRoute({
    method: 'GET',
    url: '/issuer/:issuer_id/v1/accounts/:account_id',
    operationId: 'v1_issuer_accounts_get',
    summary: "An account's posted balance, active holds and available funds (minor units)",
    description: "Callers: the issuer's own key (role issuer, owner = the issuer id), or an admin key. Another issuer's key or account: 404.",
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['issuer', 'admin'] },
    params: AccountParams,
    response: { 200: AccountBalanceSchema },
    async handler({ params, principal }) {
      if (principal?.kind !== 'apiKey') throw new AppError('permission_denied');
      if (principal.role === 'issuer' && principal.ownerId !== params.issuer_id) throw new AppError('resource_missing', { param: 'issuer_id', message: 'No such issuer.' });
      if (principal.role !== 'issuer' && principal.role !== 'admin') throw new AppError('permission_denied');
      return { status: 200, body: await svc.accountView(params.issuer_id, params.account_id) };
    },
  });

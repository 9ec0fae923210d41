import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { PaymentPki } from '../pki/index.js';

export const v1_pki_root_get = (pki: PaymentPki) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/pki/root-ca.pem',
    operationId: 'v1_pki_root_get',
    summary: "The platform's root certificate: what merchants trust instead of Apple Root CA - G3 to verify payment tokens",
    tags: ['wallet platform'],
    auth: { kind: 'public' },
    response: { 200: Type.String() },
    async handler() {
      return { status: 200, body: await pki.rootPem(), headers: { 'Content-Type': 'application/x-pem-file', 'Cache-Control': 'public, max-age=3600' } };
    },
  });

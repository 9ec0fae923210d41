import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { SandboxOverview } from '../index.js';

const Network = Type.Union([Type.Literal('visa'), Type.Literal('mastercard'), Type.Literal('amex'), Type.Literal('discover')]);

const OverviewSchema = Type.Object({
  demoUser: Type.Object({ email: Type.String(), password: Type.String() }),
  testCards: Type.Array(
    Type.Object({
      issuerId: Type.String(),
      issuerName: Type.String(),
      network: Network,
      number: Type.String({ description: 'A public sandbox test number (never a real card).' }),
      expiry: Type.String({ description: 'MM/YY' }),
      cvv: Type.String(),
      cardholderName: Type.String(),
      path: Type.Union([Type.Literal('green'), Type.Literal('yellow'), Type.Literal('red')]),
      label: Type.String(),
    }),
  ),
  terminals: Type.Array(
    Type.Object({
      terminalId: Type.String({ description: 'DE 41.' }),
      merchantId: Type.String(),
      merchantName: Type.String(),
      mcc: Type.String(),
      country: Type.String(),
      currency: Type.String(),
      apiKey: Type.String({ description: "The terminal's API key (derived from the KEK: the same across restarts, never stored in clear)." }),
      cardAcceptorId: Type.String({ description: 'DE 42.' }),
      city: Type.String(),
      kind: Type.String(),
    }),
  ),
  store: Type.Union([Type.Object({ merchantIdentifier: Type.String(), path: Type.String() }), Type.Null()]),
});

export const v1_sandbox_get = (overview: () => Promise<SandboxOverview>) =>
  defineRoute({
    method: 'GET',
    url: '/sandbox/v1',
    operationId: 'v1_sandbox_get',
    summary: 'The sandbox: demo user, public test cards for every network and ID&V path, seeded terminals with their keys, the online store',
    description: 'Public, and present only when the sandbox is on (TESSERA_SANDBOX, the default). Never turn the sandbox on in a deployment that handles real cards. See docs/sandbox.md.',
    tags: ['sandbox'],
    auth: { kind: 'public' },
    response: { 200: OverviewSchema },
    async handler() {
      return { status: 200, body: await overview(), headers: { 'cache-control': 'no-store' } };
    },
  });

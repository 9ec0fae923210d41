import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import type { Principal } from '../../infra/http/route.js';
import { Timestamp } from '../../infra/http/schemas.js';
import './errors.js';

export const MerchantSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('merchant'),
  merchant_identifier: Type.String(),
  team_id: Type.String(),
  display_name: Type.String(),
  status: Type.String(),
  created_at: Timestamp,
});

export const DomainSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('merchant_domain'),
  merchant_id: Type.String(),
  domain: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('verified')]),
  association_file: Type.Object(
    { path: Type.String(), content: Type.String() },
    { description: 'Serve `content` (as is, text/plain) at https://<domain><path>, then call verify.' },
  ),
  verified_at: Type.Union([Timestamp, Type.Null()]),
  last_checked_at: Type.Union([Timestamp, Type.Null()]),
  last_failure: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
});

export const CertificateSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('merchant_certificate'),
  merchant_identifier: Type.String(),
  kind: Type.Union([Type.Literal('processing'), Type.Literal('identity')]),
  key_type: Type.Union([Type.Literal('ec_p256'), Type.Literal('rsa_2048')]),
  public_key_hash: Type.String({ description: 'base64(SHA-256(DER SubjectPublicKeyInfo)): header.publicKeyHash of tokens for this key.' }),
  serial: Type.String(),
  certificate_pem: Type.String(),
  not_before: Timestamp,
  not_after: Timestamp,
  status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
  revoked_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
});

export const IssuedCertificateSchema = Type.Object({
  certificate: CertificateSchema,
  certificate_pem: Type.String(),
  chain_pem: Type.String({ description: 'The certificate followed by the intermediate: what a TLS client presents.' }),
  private_key_pem: Type.Optional(Type.String({ description: 'PKCS#8 PEM, only when the platform generated the key: shown this once, never stored.' })),
});

const ID = Type.String({ minLength: 1, maxLength: 64 });
export const MerchantIdParams = Type.Object({ merchant_id: ID });
export const DomainParams = Type.Object({ merchant_id: ID, domain_id: ID });
export const CertificateParams = Type.Object({ merchant_id: ID, certificate_id: ID });

/**
 * Admin keys manage every merchant; a merchant key only its own merchant (another merchant's id is
 * answered as not found: its existence is not confirmed).
 */
export function mayManage(principal: Principal | null, merchantId: string): void {
  if (principal?.kind !== 'apiKey') throw new AppError('permission_denied');
  if (principal.role === 'admin') return;
  if (principal.role === 'merchant') {
    if (principal.ownerId === merchantId) return;
    throw new AppError('merchant_not_found', { param: 'merchant_id' });
  }
  throw new AppError('permission_denied');
}

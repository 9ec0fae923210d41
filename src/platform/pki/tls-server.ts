import { x509 } from '../../infra/x509.js';
import { Secret } from '../../protocol/secret.js';
import { randomSerial, type PaymentAuthorities } from './authority.js';

/** Long enough for any process run, short enough that a leaked key is soon worthless. */
const TLS_SERVER_DAYS = 30;
const BACKDATE_MS = 5 * 60_000;

export interface TlsServerCertificate {
  certificatePem: string;
  /** The certificate followed by the intermediate, as the server presents it. */
  chainPem: string;
  /** PKCS#8 PEM; generated for this process and never stored. */
  privateKeyPem: Secret;
  notAfter: Date;
}

/**
 * A TLS server certificate from the intermediate for the merchant-validation listener, so merchants
 * verify the platform with the one root they already trust for payment tokens. The key pair is made
 * per process and lives only in memory.
 */
export async function issueTlsServerCertificate(authorities: PaymentAuthorities, clock: () => Date, hostnames: string[]): Promise<TlsServerCertificate> {
  if (hostnames.length === 0) throw new Error('a TLS server certificate needs at least one host name');
  const ca = await authorities.intermediate();
  const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = clock();
  const wanted = new Date(now.getTime() + TLS_SERVER_DAYS * 86_400_000);
  const notAfter = ca.notAfter < wanted ? ca.notAfter : wanted;
  const names = hostnames.map((h) => (/^[0-9.]+$/.test(h) || h.includes(':') ? { type: 'ip' as const, value: h.replace(/^\[|\]$/g, '') } : { type: 'dns' as const, value: h }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${hostnames[0]!.replace(/[^A-Za-z0-9.:-]/g, '')}, OU=Tessera Merchant Validation, O=Tessera Wallet Platform`,
    issuer: ca.certificate.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate, false),
    ],
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const b64 = Buffer.from(pkcs8).toString('base64');
  pkcs8.fill(0);
  const certificatePem = `${cert.toString('pem')}\n`;
  return {
    certificatePem,
    chainPem: certificatePem + ca.pem,
    privateKeyPem: new Secret(`-----BEGIN PRIVATE KEY-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`),
    notAfter: cert.notAfter,
  };
}

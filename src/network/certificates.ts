import { createPublicKey, type KeyObject } from 'node:crypto';
import { AppError } from '../infra/errors.js';
import { x509 } from '../infra/x509.js';

const PEM_CERT = /^\s*-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$/;

function parse(pem: string): x509.X509Certificate | null {
  if (typeof pem !== 'string' || !PEM_CERT.test(pem)) return null;
  try {
    return new x509.X509Certificate(pem);
  } catch {
    return null;
  }
}

/** The certificate's public key if it is an EC P-256 key, else null. */
function p256Key(cert: x509.X509Certificate): KeyObject | null {
  try {
    const key = createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return null;
    return key;
  } catch {
    return null;
  }
}

function within(cert: x509.X509Certificate, now: Date): boolean {
  const t = now.getTime();
  return cert.notBefore.getTime() <= t && t <= cert.notAfter.getTime();
}

function usages(cert: x509.X509Certificate): number | null {
  return cert.getExtension(x509.KeyUsagesExtension)?.usages ?? null;
}

/**
 * Checks a token requestor's device CA certificate at registration: one PEM certificate, a P-256 key,
 * valid now, a CA if it says what it is (basic constraints), allowed to sign certificates if it says
 * what for (key usage). Otherwise `parameter_invalid` on device_ca_pem.
 */
export function checkDeviceCa(pem: string, now: Date): void {
  const fail = (why: string) => new AppError('parameter_invalid', { param: 'device_ca_pem', message: `Invalid body parameter 'device_ca_pem': ${why}.` });
  const cert = parse(pem);
  if (!cert) throw fail('not one PEM X.509 certificate');
  if (!p256Key(cert)) throw fail('the CA key must be an EC P-256 key');
  if (!within(cert, now)) throw fail('the certificate is not valid now');
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (bc && !bc.ca) throw fail('the certificate is not a CA certificate');
  const ku = usages(cert);
  if (ku !== null && (ku & x509.KeyUsageFlags.keyCertSign) === 0) throw fail('the certificate may not sign certificates');
}

/**
 * Verifies a device's Secure Element certificate before anything is encrypted to its key: issued and
 * signed by the token requestor's registered device CA, within its validity (and the CA within its
 * own), subject CN = the device id, a P-256 key, not a CA, key agreement allowed if key usage is given.
 * Returns the SE's public key; anything else is `device_certificate_invalid`.
 */
export async function verifySeCertificate(sePem: string, caPem: string, deviceId: string, now: Date): Promise<KeyObject> {
  const invalid = () => new AppError('device_certificate_invalid', { param: 'device.se_certificate_pem' });
  const cert = parse(sePem);
  const ca = parse(caPem);
  if (!cert || !ca) throw invalid();
  if (!within(ca, now) || !within(cert, now)) throw invalid();
  if (cert.issuer !== ca.subject) throw invalid();
  let signed = false;
  try {
    signed = await cert.verify({ publicKey: ca.publicKey, signatureOnly: true });
  } catch {
    signed = false;
  }
  if (!signed) throw invalid();
  if (!cert.subjectName.getField('CN').includes(deviceId)) throw invalid();
  if (cert.getExtension(x509.BasicConstraintsExtension)?.ca) throw invalid();
  const ku = usages(cert);
  if (ku !== null && (ku & x509.KeyUsageFlags.keyAgreement) === 0) throw invalid();
  const key = p256Key(cert);
  if (!key) throw invalid();
  return key;
}

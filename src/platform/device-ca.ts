import type { Database } from '../infra/db/database.js';
import { newId } from '../infra/ids.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { x509 } from '../infra/x509.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CA_YEARS = 10;
const DEVICE_CERT_YEARS = 3;

/**
 * The platform's device CA. It attests a device's Secure Element key at registration; networks trust
 * it (registered with them as the token requestor's CA) and encrypt provisioning payloads only to keys
 * it certified. Its private key is stored wrapped by the KEK and used only here.
 */
export class DeviceCa {
  #loaded: { certificate: x509.X509Certificate; pem: string; privateKey: CryptoKey } | undefined;

  constructor(
    private readonly db: Database,
    private readonly kek: KeyEncryptionKeys,
  ) {}

  async init(): Promise<void> {
    await this.#load();
  }

  async certificatePem(): Promise<string> {
    return (await this.#load()).pem;
  }

  async #load() {
    if (this.#loaded) return this.#loaded;
    let { rows } = await this.db.query<{ id: string; certificate_pem: string; key_wrapped: Buffer; kek_id: string }>(
      `SELECT id, certificate_pem, key_wrapped, kek_id FROM platform.authorities WHERE purpose = 'device_ca' AND active`,
    );
    if (!rows[0]) {
      await this.#create();
      ({ rows } = await this.db.query(`SELECT id, certificate_pem, key_wrapped, kek_id FROM platform.authorities WHERE purpose = 'device_ca' AND active`));
    }
    const row = rows[0]!;
    const pkcs8 = this.kek.unwrap(row.kek_id, row.key_wrapped, `platform.authorities:${row.id}`);
    const privateKey = await crypto.subtle.importKey("pkcs8", new Uint8Array(pkcs8), ALG, false, ["sign"]);
    pkcs8.fill(0);
    this.#loaded = { certificate: new x509.X509Certificate(row.certificate_pem), pem: row.certificate_pem, privateKey };
    return this.#loaded;
  }

  async #create(): Promise<void> {
    const id = newId('ca');
    const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = new Date();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: 'CN=Tessera Device CA, O=Tessera Wallet Platform',
      notBefore: now,
      notAfter: new Date(now.getTime() + CA_YEARS * 365 * 86400_000),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
    const { kekId, wrapped } = this.kek.wrap(pkcs8, `platform.authorities:${id}`);
    pkcs8.fill(0);
    // Two processes starting at once: the partial unique index lets one CA win; the other re-reads.
    await this.db.query(
      `INSERT INTO platform.authorities (id, purpose, certificate_pem, key_wrapped, kek_id) VALUES ($1, 'device_ca', $2, $3, $4) ON CONFLICT DO NOTHING`,
      [id, cert.toString('pem'), wrapped, kekId],
    );
  }

  /** Certifies a Secure Element's P-256 key-agreement key for one device. */
  async issueDeviceCertificate(deviceId: string, publicKeyJwk: JsonWebKey): Promise<string> {
    const ca = await this.#load();
    const publicKey = await crypto.subtle.importKey('jwk', { kty: publicKeyJwk.kty, crv: publicKeyJwk.crv, x: publicKeyJwk.x, y: publicKeyJwk.y }, { name: 'ECDH', namedCurve: 'P-256' }, true, []);
    const now = new Date();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${deviceId}, OU=Secure Element, O=Tessera Wallet Platform`,
      issuer: ca.certificate.subject,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + DEVICE_CERT_YEARS * 365 * 86400_000),
      signingAlgorithm: ALG,
      publicKey,
      signingKey: ca.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyAgreement, true),
        await x509.AuthorityKeyIdentifierExtension.create(ca.certificate, false),
      ],
    });
    return cert.toString('pem');
  }
}

function randomSerial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f;
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

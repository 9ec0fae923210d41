// @peculiar/x509 resolves its ASN.1 services through tsyringe, which needs the Reflect metadata
// polyfill loaded first; every server-side use of the library goes through this module.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };

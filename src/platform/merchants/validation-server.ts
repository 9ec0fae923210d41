import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { AppError } from '../../infra/errors.js';
import { randomBase62 } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { PaymentPki } from '../pki/index.js';
import './errors.js';
import type { MerchantService } from './service.js';

export const VALIDATION_PATHS = ['/paymentservices/startSession', '/paymentservices/paymentSession'] as const;
const MAX_BODY = 16 * 1024;

export interface ValidationServer {
  /** https://<host>:<port>/paymentservices/startSession: what ApplePaySession hands the page as validationURL. */
  validationUrl: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The merchant-validation listener: HTTPS with mutual TLS. The server certificate comes from the
 * platform's intermediate (merchants trust the platform root); a client must present a certificate
 * chaining to that root (the TLS layer refuses the handshake otherwise), and the request is then
 * answered only for an active identity certificate on record, of the merchant it names.
 */
export async function startValidationServer(opts: { service: MerchantService; pki: PaymentPki; host: string; port: number; logger: Logger }): Promise<ValidationServer> {
  const { service, pki, logger } = opts;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const names = Array.from(new Set(['localhost', '127.0.0.1', '::1', host]));
  const tls = await pki.issueTlsServerCertificate(names);
  const ca = [await pki.rootPem(), await pki.intermediatePem()];
  const server: Server = createServer(
    {
      key: tls.privateKeyPem.reveal(),
      cert: tls.chainPem,
      ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      headersTimeout: 10_000,
      requestTimeout: 15_000,
    },
    (req, res) => void handle(service, logger, req, res),
  );
  server.on('tlsClientError', (err) => logger.debug({ err: { message: err.message } }, 'merchant validation: TLS handshake refused'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    validationUrl: `https://${urlHost}:${port}${VALIDATION_PATHS[0]}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(service: MerchantService, logger: Logger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = `req_${randomBase62(20)}`;
  res.setHeader('Request-Id', requestId);
  try {
    const path = (req.url ?? '').split('?')[0];
    if (!VALIDATION_PATHS.includes(path as (typeof VALIDATION_PATHS)[number])) throw new AppError('route_not_found');
    if (req.method !== 'POST') throw new AppError('method_not_allowed');
    const socket = req.socket as TLSSocket;
    // rejectUnauthorized already refused handshakes without a chain to the platform root; this is the second look.
    if (!socket.authorized) throw new AppError('merchant_identity_required');
    const peer = socket.getPeerCertificate();
    const der = peer && 'raw' in peer && peer.raw ? new Uint8Array(peer.raw) : undefined;
    // Authentication comes before the body is read: an unknown client learns nothing about the route.
    await service.identityOf(der);
    const type = String(req.headers['content-type'] ?? '');
    if (!/^application\/json\b/i.test(type)) throw new AppError('media_type_unsupported');
    const body = await readBody(req);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new AppError('body_invalid');
    }
    const session = await service.startSession(der, parsed);
    send(res, 200, session);
  } catch (err) {
    if (err instanceof AppError) {
      send(res, err.status, appleAnswer(err, requestId));
      return;
    }
    logger.error({ err: { type: (err as Error)?.name, message: (err as Error)?.message }, requestId }, 'merchant validation failed');
    send(res, 500, new AppError('internal_error').toBody(requestId));
  }
}

/**
 * What Apple's endpoint answers to each mistake: `statusCode` (the HTTP status, as a string) and a
 * "Payment Services Exception" `statusMessage` (what merchant code written for Apple logs), beside the
 * platform's own `error` object (code, param). Messages never echo values.
 */
const APPLE_MESSAGES: Record<string, string> = {
  body_invalid: 'Payment Services Exception: the request body is not a JSON object',
  media_type_unsupported: 'Payment Services Exception: the request must be application/json',
  body_too_large: 'Payment Services Exception: the request body is too large',
  merchant_identity_required: 'Payment Services Exception: no valid merchant identity certificate was presented',
  merchant_identity_mismatch: 'Payment Services Exception: the identity certificate belongs to another merchantIdentifier',
  merchant_not_found: 'Payment Services Exception: merchantIdentifier is not registered',
  merchant_domain_unverified: 'Payment Services Exception: merchantIdentifier is not registered for this domain',
  route_not_found: 'Payment Services Exception: unknown endpoint',
  method_not_allowed: 'Payment Services Exception: use POST',
};

export function appleAnswer(err: AppError, requestId: string): Record<string, unknown> {
  let statusMessage = APPLE_MESSAGES[err.code];
  if (!statusMessage && err.code === 'parameter_invalid') statusMessage = `Payment Services Exception: invalid ${err.param ?? 'request'}`;
  return { statusCode: String(err.status), statusMessage: statusMessage ?? 'Payment Services Exception', ...err.toBody(requestId) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new AppError('body_too_large'));
        // Drain the rest without keeping it, so the answer still reaches the client.
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

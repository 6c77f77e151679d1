/**
 * The committed test PKI (test/fixtures/tls, made once by its make.sh, valid for 100 years):
 * a CA, a server certificate for localhost and 127.0.0.1, and a client certificate, both
 * signed by the CA. Reading files keeps the TLS tests free of an openssl binary.
 */
import { readFileSync } from 'node:fs';

const read = (file: string): Buffer => readFileSync(new URL(`../fixtures/tls/${file}`, import.meta.url));

export interface TestPki {
  ca: Buffer;
  serverKey: Buffer;
  serverCert: Buffer;
  clientKey: Buffer;
  clientCert: Buffer;
}

export const testPki: TestPki = {
  ca: read('ca.crt'),
  serverKey: read('server.key'),
  serverCert: read('server.crt'),
  clientKey: read('client.key'),
  clientCert: read('client.crt'),
};

/** TLS and mutual TLS, with certificates made by the openssl CLI for this run. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serve, type SocketServer } from '../src/socket/server.js';
import { RawConnection } from './helpers/beanstalkd.js';

const OPENSSL = '/usr/bin/openssl';
const hasOpenssl = existsSync(OPENSSL);

interface Pki {
  ca: Buffer;
  serverKey: Buffer;
  serverCert: Buffer;
  clientKey: Buffer;
  clientCert: Buffer;
}

function makePki(dir: string): Pki {
  const run = (...args: string[]) => execFileSync(OPENSSL, args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=docket test CA');
  for (const name of ['server', 'client']) {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name === 'server' ? 'localhost' : 'docket client'}`);
    const ext = join(dir, `${name}.ext`);
    execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > '${ext}'`]);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', ext);
  }
  const read = (file: string) => readFileSync(join(dir, file));
  return { ca: read('ca.crt'), serverKey: read('server.key'), serverCert: read('server.crt'), clientKey: read('client.key'), clientCert: read('client.crt') };
}

function connectTls(port: number, options: tls.ConnectionOptions): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => resolve(RawConnection.wrap(socket)));
    socket.once('error', reject);
  });
}

describe.skipIf(!hasOpenssl)('TLS', () => {
  let dir: string;
  let pki: Pki;
  let server: SocketServer | undefined;
  const connections: RawConnection[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'docket-tls-'));
    pki = makePki(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const c of connections.splice(0)) c.close();
    await server?.close();
    server = undefined;
  });

  it('closes promptly after a client aborted its handshake', async () => {
    server = await serve({ port: 0, tls: { key: pki.serverKey, cert: pki.serverCert } });
    // The client does not trust the server's CA, so it aborts the handshake half-way.
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost' });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('close', resolve));
    const closing = server.close();
    server = undefined;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((resolve) => (timer = setTimeout(resolve, 2_000, 'hung')))]);
    clearTimeout(timer);
    expect(outcome).toBe('closed');
  });

  it('serves the protocol over TLS', async () => {
    server = await serve({ port: 0, tls: { key: pki.serverKey, cert: pki.serverCert } });
    const c = await connectTls(server.port, { ca: pki.ca });
    connections.push(c);
    const id = await c.put('secret');
    const reply = await c.request('reserve');
    expect(reply.line).toBe(`RESERVED ${id} 6`);
    expect(reply.data?.toString()).toBe('secret');
    expect(await c.line(`delete ${id}`)).toBe('DELETED');
  });

  it('mutual TLS: refuses a client without a certificate, serves one with a valid one', async () => {
    server = await serve({
      port: 0,
      tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: true },
    });
    const port = server.port;
    // Without a client certificate the handshake (or the first read) fails.
    const refused = await connectTls(port, { ca: pki.ca }).then(
      async (c) => {
        connections.push(c);
        c.send('list-tube-used\r\n');
        return c.reply(2000).then(
          () => false,
          () => true,
        );
      },
      () => true,
    );
    expect(refused).toBe(true);
    const c = await connectTls(port, { ca: pki.ca, key: pki.clientKey, cert: pki.clientCert });
    connections.push(c);
    expect(await c.line('list-tube-used')).toBe('USING default');
    expect(server.connectionCount).toBe(1);
  });

  it('a plain-text client on the TLS port does not disturb the server', async () => {
    server = await serve({ port: 0, tls: { key: pki.serverKey, cert: pki.serverCert } });
    const plain = await RawConnection.open(server.port);
    connections.push(plain);
    plain.send('put 0 0 60 1\r\nx\r\n');
    await plain.closed;
    const c = await connectTls(server.port, { ca: pki.ca });
    connections.push(c);
    expect(await c.line('list-tube-used')).toBe('USING default');
  });
});

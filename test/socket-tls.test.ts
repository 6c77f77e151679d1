/** TLS and mutual TLS, with the committed test certificates. */
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { serve, type SocketServer } from '../src/socket/server/server.js';
import { RawConnection } from './helpers/raw-connection.js';
import { testPki as pki } from './helpers/tls-fixtures.js';

function connectTls(port: number, options: tls.ConnectionOptions): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => resolve(RawConnection.wrap(socket)));
    socket.once('error', reject);
  });
}

describe('TLS', () => {
  let server: SocketServer | undefined;
  const connections: RawConnection[] = [];

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

import type net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError } from '../src/socket/client/errors.js';
import { connect } from '../src/socket/client/remote-queue.js';
import { serve, type SocketServer } from '../src/socket/server/server.js';
import { testPki } from './helpers/tls-fixtures.js';

// The committed test PKI: the server's certificate is signed by a CA only the test trusts.
const { serverKey: key, serverCert: cert, ca } = testPki;
let server: SocketServer;

beforeAll(async () => {
  server = await serve({ port: 0, tls: { key, cert } });
});

afterAll(async () => {
  await server?.close();
});

describe('socket client over TLS', () => {
  it('round-trips a job with a docket server started with tls', async () => {
    const q = await connect<{ n: number }>(`beanstalk://127.0.0.1:${server.port}/secure`, { tls: { ca } });
    try {
      const added = await q.add({ n: 1 });
      const job = await q.reserve({ timeout: 1000 });
      expect(job?.id).toBe(added.id);
      expect(job?.data).toEqual({ n: 1 });
      await job!.ack();
    } finally {
      await q.close();
    }
  });

  it('refuses a server whose certificate it does not trust', async () => {
    // A plain TLS server with the same certificate (its sockets are tracked and destroyed
    // on close, whatever state the refused handshake left them in).
    const sockets = new Set<tls.TLSSocket>();
    const untrusted = tls.createServer({ key, cert }, (socket) => void sockets.add(socket));
    untrusted.on('tlsClientError', () => {});
    untrusted.on('connection', (socket: net.Socket) => {
      socket.on('error', () => {});
      sockets.add(socket as tls.TLSSocket);
    });
    await new Promise<void>((resolve) => untrusted.listen(0, '127.0.0.1', resolve));
    const { port } = untrusted.address() as net.AddressInfo;
    try {
      const refused = connect(`beanstalk://127.0.0.1:${port}/secure`, { tls: true, reconnect: false });
      await expect(refused).rejects.toBeInstanceOf(ConnectionError);
      await expect(refused).rejects.toThrow(/unable to verify the first certificate/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => untrusted.close(() => resolve()));
    }
  });
});

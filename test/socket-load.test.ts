/** Many clients at once: every job is accounted for. */
import { afterEach, describe, expect, it } from 'vitest';
import { serve, type SocketServer } from '../src/socket/server/server.js';
import { RawConnection } from './helpers/raw-connection.js';

let server: SocketServer | undefined;
const connections: RawConnection[] = [];

afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  await server?.close();
  server = undefined;
});

describe('1,000 concurrent connections', () => {
  it('each puts, reserves and deletes; every job is accounted for', async () => {
    server = await serve({ port: 0 });
    const port = server.port;
    for (let i = 0; i < 1000; i += 100) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => RawConnection.open(port)));
      connections.push(...batch);
    }
    // A client's connect completes in the kernel before the server accepts it.
    for (let waited = 0; server.connectionCount < 1000 && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    expect(server.connectionCount).toBe(1000);

    const put = new Set<string>();
    const reserved: string[] = [];
    await Promise.all(
      connections.map(async (c, i) => {
        const body = `job-${i}`;
        await c.put(body, { ttr: 120 });
        put.add(body);
        const reply = await c.request('reserve', undefined, 20_000);
        const match = /^RESERVED (\d+) \d+$/.exec(reply.line);
        expect(match).not.toBeNull();
        reserved.push(reply.data?.toString() ?? '');
        expect(await c.line(`delete ${match?.[1]}`)).toBe('DELETED');
      }),
    );
    expect(put.size).toBe(1000);
    expect(reserved).toHaveLength(1000);
    expect(new Set(reserved)).toEqual(put);
    const stats = RawConnection.yamlDict((await connections[0].request('stats')).data);
    expect(stats).toMatchObject({
      'current-jobs-ready': '0',
      'current-jobs-reserved': '0',
      'current-jobs-delayed': '0',
      'current-jobs-buried': '0',
      'total-jobs': '1000',
      'cmd-put': '1000',
      'cmd-reserve': '1000',
      'cmd-delete': '1000',
      'current-connections': '1000',
    });
  });
});

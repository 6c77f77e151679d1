/**
 * The floor for a Node server in the sequential socket rows: `node bench/cases/socket-floor-server.ts
 * <port>` (run through tsx like docket's server). It answers the commands jackd sends in
 * those rows (use, watch, ignore, put, reserve, delete, quit) with a plain per-tube FIFO of
 * bodies: no priorities, delays, leases, limits, stats or protocol checks. It is not a
 * server anyone should use; it shows what Node's event loop and sockets alone cost per
 * round trip, so that the rows tell the part of docket's time that is docket's.
 */
import net from 'node:net';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error(`usage: socket-floor-server.ts <port>, got ${process.argv[2]}`);

const tubes = new Map<string, Array<{ id: number; body: Buffer }>>();
const reservedBy = new Map<number, string>();
let nextId = 0;

function tube(name: string): Array<{ id: number; body: Buffer }> {
  let jobs = tubes.get(name);
  if (jobs === undefined) tubes.set(name, (jobs = []));
  return jobs;
}

net
  .createServer((socket) => {
    socket.setNoDelay(true);
    let used = 'default';
    let watched = 'default';
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let reply = '';
      for (;;) {
        const eol = pending.indexOf('\r\n');
        if (eol < 0) break;
        const [name = '', a = '', , , size] = pending.toString('latin1', 0, eol).split(' ');
        if (name === 'put') {
          const bytes = Number(size);
          if (pending.length < eol + 2 + bytes + 2) break;
          const id = ++nextId;
          tube(used).push({ id, body: Buffer.from(pending.subarray(eol + 2, eol + 2 + bytes)) });
          pending = pending.subarray(eol + 4 + bytes);
          reply += `INSERTED ${id}\r\n`;
          continue;
        }
        pending = pending.subarray(eol + 2);
        if (name === 'use') {
          used = a;
          reply += `USING ${a}\r\n`;
        } else if (name === 'watch') {
          watched = a;
          reply += 'WATCHING 2\r\n';
        } else if (name === 'ignore') reply += 'WATCHING 1\r\n';
        else if (name === 'reserve') {
          const job = tube(watched).shift();
          if (job === undefined) throw new Error('the floor server answers a reserve only when a job is ready');
          reservedBy.set(job.id, watched);
          reply += `RESERVED ${job.id} ${job.body.length}\r\n${job.body.toString('latin1')}\r\n`;
        } else if (name === 'delete') reply += reservedBy.delete(Number(a)) ? 'DELETED\r\n' : 'NOT_FOUND\r\n';
        else if (name === 'quit') socket.end();
        else reply += 'UNKNOWN_COMMAND\r\n';
      }
      if (reply.length > 0) socket.write(reply, 'latin1');
    });
    socket.on('error', () => socket.destroy());
  })
  .listen(port, '127.0.0.1');

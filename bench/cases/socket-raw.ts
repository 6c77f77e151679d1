/**
 * One pipelined raw-socket Node client (no library) against a beanstalkd-protocol server:
 * `socket-raw.ts <docket|beanstalkd> <pairs> [jobs]`. Each pair is a producer connection
 * (put, up to WINDOW replies outstanding) and a consumer connection (reserve + delete,
 * pipelined the same way) on its own tube. The server runs in its own process in both
 * cases. Reports jobs/s from the first put to the last DELETED.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { startBeanstalkd } from '../../test/helpers/beanstalkd.js';
import { args, main, perSecond, report, scaled, skip } from '../harness.js';

const WINDOW = 512;
const BODY = Buffer.alloc(64, 0x6a);
const CRLF = Buffer.from('\r\n');

async function startDocket(): Promise<{ port: number; stop(): Promise<void> }> {
  const script = fileURLToPath(new URL('./socket-raw-server.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`docket server exited with ${code}`)));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin?.end();
        setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      }),
  };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
  });
}

/** Calls `onLine(line, body)` for each reply; bodies of RESERVED are sliced out. */
function replies(socket: net.Socket, onLine: (line: string, body: Buffer | undefined) => void): void {
  let buffer: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    let at = 0;
    for (;;) {
      const end = buffer.indexOf(CRLF, at);
      if (end === -1) break;
      const line = buffer.toString('latin1', at, end);
      if (line.startsWith('RESERVED ')) {
        const size = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (buffer.length < end + 2 + size + 2) break;
        onLine(line, buffer.subarray(end + 2, end + 2 + size));
        at = end + 2 + size + 2;
      } else {
        onLine(line, undefined);
        at = end + 2;
      }
    }
    buffer = buffer.subarray(at);
  });
}

async function producer(port: number, tube: string, jobs: number): Promise<void> {
  const socket = await connect(port);
  const header = Buffer.from(`put 0 0 60 ${BODY.length}\r\n`);
  const put = Buffer.concat([header, BODY, CRLF]);
  let sent = 0;
  let acked = 0;
  await new Promise<void>((resolve, reject) => {
    const fill = () => {
      const n = Math.min(WINDOW - (sent - acked), jobs - sent);
      if (n <= 0) return;
      const parts: Buffer[] = [];
      for (let i = 0; i < n; i++) parts.push(put);
      sent += n;
      socket.write(Buffer.concat(parts));
    };
    replies(socket, (line) => {
      if (line === `USING ${tube}`) return fill();
      if (!line.startsWith('INSERTED ')) return reject(new Error(`put answered ${line}`));
      acked++;
      if (acked === jobs) resolve();
      else if (sent - acked < WINDOW / 2) fill();
    });
    socket.write(`use ${tube}\r\n`);
  });
  socket.destroy();
}

async function consumer(port: number, tube: string, jobs: number): Promise<void> {
  const socket = await connect(port);
  let reserves = 0;
  let deleted = 0;
  let setup = 2;
  await new Promise<void>((resolve, reject) => {
    const fill = () => {
      const n = Math.min(WINDOW - (reserves - deleted), jobs - reserves);
      if (n <= 0) return;
      reserves += n;
      socket.write('reserve\r\n'.repeat(n));
    };
    let pending = '';
    replies(socket, (line) => {
      if (setup > 0) {
        setup--;
        if (setup === 0) fill();
        return;
      }
      if (line.startsWith('RESERVED ')) {
        pending += `delete ${line.slice(9, line.indexOf(' ', 9))}\r\n`;
        // Deletes go out in one write per batch of replies.
        if (pending.length > 4096) {
          socket.write(pending);
          pending = '';
        } else {
          queueMicrotask(() => {
            if (pending.length > 0) {
              socket.write(pending);
              pending = '';
            }
          });
        }
      } else if (line === 'DELETED') {
        deleted++;
        if (deleted === jobs) resolve();
        else if (reserves - deleted < WINDOW / 2) fill();
      } else {
        reject(new Error(`consumer got ${line}`));
      }
    });
    socket.write(`watch ${tube}\r\nignore default\r\n`);
  });
  socket.destroy();
}

main(async () => {
  const [target, pairsArg, jobsArg] = args();
  const pairs = Number(pairsArg ?? '1');
  const total = scaled(Number(jobsArg ?? 200_000));
  const perPair = Math.floor(total / pairs);
  let server: { port: number; stop(): Promise<void> };
  if (target === 'beanstalkd') {
    try {
      server = await startBeanstalkd();
    } catch (error) {
      return skip(`beanstalkd not available: ${(error as Error).message}`);
    }
  } else if (target === 'docket') {
    server = await startDocket();
  } else if (target?.startsWith('port:') === true) {
    // A server started by hand (e.g. under --cpu-prof): `socket-raw.ts port:11300 16`.
    server = { port: Number(target.slice(5)), stop: async () => {} };
  } else {
    throw new Error(`unknown target ${target}; expected docket, beanstalkd or port:<n>`);
  }
  try {
    const started = performance.now();
    const work: Promise<void>[] = [];
    for (let p = 0; p < pairs; p++) {
      work.push(consumer(server.port, `bench-${p}`, perPair), producer(server.port, `bench-${p}`, perPair));
    }
    await Promise.all(work);
    const ms = performance.now() - started;
    report(perSecond(perPair * pairs, ms), { jobs: perPair * pairs, ms: Math.round(ms) });
  } finally {
    await server.stop();
  }
});

// The tour's Redis stop: starts a throwaway redis-server on a free port, two worker
// processes and a producer process on it (worker.ts, producer.ts), and stops them all.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function untilListening(port: number): Promise<void> {
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'docket-tour-redis-'));
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
const env = { ...process.env, REDIS_URL: `redis://127.0.0.1:${port}` };
const run = (file: string, ...args: string[]): ChildProcess =>
  spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL(file, import.meta.url)), ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
try {
  await untilListening(port);
  const workers = [run('worker.ts', 'a'), run('worker.ts', 'b')];
  // Both workers wait for jobs before the producer starts, so both get some.
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) =>
          createInterface({ input: worker.stdout! }).on('line', (line) => {
            console.log(line);
            if (line.endsWith('waiting for jobs')) resolve();
          }),
        ),
    ),
  );
  const producer = run('producer.ts');
  createInterface({ input: producer.stdout! }).on('line', (line) => console.log(line));
  const [code] = (await once(producer, 'exit')) as [number | null];
  for (const worker of workers) worker.kill('SIGTERM');
  await Promise.all(workers.map((worker) => once(worker, 'exit')));
  process.exitCode = code ?? 1;
} finally {
  redis.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

/** A bare beanstalkd-protocol connection for tests (no server of its own: works with docket's and the reference). */
import net from 'node:net';

/** One reply: its line (CRLF removed) and, for RESERVED/FOUND/OK, its data. */
export interface RawReply {
  line: string;
  data?: Buffer;
}

const DATA_REPLY = /^(?:RESERVED \d+ (\d+)|FOUND \d+ (\d+)|OK (\d+))$/;

/**
 * A bare protocol connection for tests: write exact bytes, read exact replies. Works with
 * any beanstalkd-protocol server (ours or the reference).
 */
export class RawConnection {
  readonly socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      });
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      socket.setNoDelay(true);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Wraps an already connected socket (e.g. a TLS one). */
  static wrap(socket: net.Socket): RawConnection {
    return new RawConnection(socket);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private waitForBytes(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Whether the server closed the connection. */
  get isClosed(): boolean {
    return this.ended;
  }

  /** Bytes received and not read yet. */
  get unread(): number {
    return this.buffer.length;
  }

  send(data: string | Uint8Array): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Reads the next reply; rejects if the connection closes first or after `timeout` ms. */
  async reply(timeout = 5000): Promise<RawReply> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end !== -1) {
        const line = this.buffer.toString('latin1', 0, end);
        const match = DATA_REPLY.exec(line);
        if (match === null) {
          this.buffer = this.buffer.subarray(end + 2);
          return { line };
        }
        const size = Number(match[1] ?? match[2] ?? match[3]);
        if (this.buffer.length >= end + 2 + size + 2) {
          const data = Buffer.from(this.buffer.subarray(end + 2, end + 2 + size));
          this.buffer = this.buffer.subarray(end + 2 + size + 2);
          return { line, data };
        }
      }
      if (this.ended) throw new Error(`connection closed while waiting for a reply (unread: ${JSON.stringify(this.buffer.toString('latin1'))})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeout} ms (unread: ${JSON.stringify(this.buffer.toString('latin1'))})`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.waitForBytes(), new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
    }
  }

  /** Sends one command line (CRLF added) and, if given, a body; returns the reply line. */
  async line(command: string, body?: string | Uint8Array, timeout?: number): Promise<string> {
    return (await this.request(command, body, timeout)).line;
  }

  /** Sends one command line (CRLF added) and, if given, a body; returns the whole reply. */
  async request(command: string, body?: string | Uint8Array, timeout?: number): Promise<RawReply> {
    const parts: Buffer[] = [Buffer.from(`${command}\r\n`, 'latin1')];
    if (body !== undefined) parts.push(typeof body === 'string' ? Buffer.from(body, 'latin1') : Buffer.from(body), Buffer.from('\r\n'));
    this.send(Buffer.concat(parts));
    return this.reply(timeout);
  }

  /** `put` with a body; returns the new job id (throws unless INSERTED). */
  async put(body: string | Uint8Array, options: { pri?: number; delay?: number; ttr?: number } = {}): Promise<number> {
    const size = typeof body === 'string' ? Buffer.byteLength(body, 'latin1') : body.length;
    const line = await this.line(`put ${options.pri ?? 0} ${options.delay ?? 0} ${options.ttr ?? 60} ${size}`, body);
    const match = /^INSERTED (\d+)$/.exec(line);
    if (match === null) throw new Error(`put answered ${line}`);
    return Number(match[1]);
  }

  /** Resolves true if nothing arrives for `ms` (and the connection stays open). */
  async silentFor(ms: number): Promise<boolean> {
    const before = this.buffer.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.buffer.length === before && !this.ended;
  }

  /** Parses a YAML dict reply (`---\nkey: value\n...`) into a record of strings. */
  static yamlDict(data: Buffer | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    const text = data?.toString('latin1') ?? '';
    for (const row of text.split('\n').slice(1)) {
      if (row === '') continue;
      const at = row.indexOf(': ');
      out[row.slice(0, at)] = row.slice(at + 2);
    }
    return out;
  }

  /** Parses a YAML list reply (`---\n- a\n- b\n`). */
  static yamlList(data: Buffer | undefined): string[] {
    const text = data?.toString('latin1') ?? '';
    return text
      .split('\n')
      .slice(1)
      .filter((row) => row !== '')
      .map((row) => row.slice(2));
  }

  close(): void {
    this.socket.destroy();
  }
}

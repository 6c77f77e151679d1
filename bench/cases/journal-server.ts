/**
 * docket's beanstalkd-protocol server over a durable queue, in its own process (as
 * beanstalkd is): `node --import tsx bench/cases/journal-server.ts <port> <journal file> <sync>`.
 * Used by journal-add.ts; not a case itself.
 */
import { rawCodec, type Codec } from '../../src/codec.js';
import { openQueue } from '../../src/journal/index.js';
import { serve } from '../../src/socket/index.js';
import type { SyncPolicy } from '../../src/journal/index.js';

const [port, file, sync] = process.argv.slice(2);
const queue = await openQueue<Uint8Array>(file, { sync: sync as SyncPolicy, codec: rawCodec, retry: { attempts: Infinity } });
await serve({ port: Number(port), queues: { default: queue }, codec: rawCodec as Codec<unknown> });

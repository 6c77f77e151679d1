/**
 * docket's beanstalkd-protocol server on its own, for the client throughput case:
 * `node --import tsx bench/cases/socket-client-server.ts <port>`. Runs until killed, so the
 * server has its own process (and core), as redis-server and beanstalkd do.
 */
import { serve } from '../../src/socket/server/server.js';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error(`usage: socket-client-server.ts <port>, got ${process.argv[2]}`);
await serve({ port });

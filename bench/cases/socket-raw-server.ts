/**
 * docket's server alone in its own process, for the raw-client case (beanstalkd gets its
 * own process too): `node --import tsx bench/cases/socket-raw-server.ts`. Prints the port
 * once listening; exits when its stdin closes (the parent died or is done).
 */
import { serve } from '../../src/socket/server/server.js';

const server = await serve({ port: 0 });
process.stdout.write(`${server.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
process.stdin.on('close', () => void server.close().then(() => process.exit(0)));

#!/usr/bin/env node
// docket: look at and operate queues over the beanstalkd protocol (docket's server or a
// real beanstalkd) or on Redis. `docket --help` lists the commands.
import { run } from './main.js';

const controller = new AbortController();
// The first Ctrl-C ends a running tail or dashboard cleanly (held jobs released); a second one exits at once.
process.once('SIGINT', () => {
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});
process.once('SIGTERM', () => controller.abort());

run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdin: process.stdin,
  signal: controller.signal,
}).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(`docket: ${String(error)}\n`);
    process.exitCode = 1;
  },
);

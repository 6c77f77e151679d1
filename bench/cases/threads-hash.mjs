// The CPU-bound task of the threads bench (about 1 ms of SHA-256 on the reference machine),
// the same module for docket, piscina and tinypool.
import { createHash } from 'node:crypto';

const ROUNDS = 1000;

export default (seed) => {
  let digest = Buffer.from(String(seed));
  for (let i = 0; i < ROUNDS; i++) digest = createHash('sha256').update(digest).digest();
  return digest.readUInt32BE(0);
};

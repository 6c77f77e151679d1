/**
 * Turns a job's payload into bytes and back, where a payload leaves the process (the
 * socket adapter, the journal).
 * @typeParam T - the payload type
 */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** JSON as UTF-8: the default codec. */
export const jsonCodec: Codec<unknown> = {
  encode(value) {
    const text = JSON.stringify(value);
    // JSON.stringify returns undefined for undefined, functions and symbols.
    if (text === undefined) throw new TypeError(`cannot encode ${typeof value} as JSON`);
    return encoder.encode(text);
  },
  decode(bytes) {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  },
};

/** Bytes as they are: for payloads that are not JSON (a beanstalkd client's raw bodies). */
export const rawCodec: Codec<Uint8Array> = {
  encode: (value) => value,
  decode: (bytes) => bytes,
};

/** UTF-8 text. */
export const textCodec: Codec<string> = {
  encode: (value) => encoder.encode(value),
  decode: (bytes) => decoder.decode(bytes),
};

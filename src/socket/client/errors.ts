import { DocketError, ErrorCode } from '../../errors.js';

const PROTOCOL = ErrorCode.Protocol;
const CONNECTION = ErrorCode.Connection;

/**
 * The server sent something the client cannot accept: an error reply (`BAD_FORMAT`,
 * `UNKNOWN_COMMAND`, `INTERNAL_ERROR`, `EXPECTED_CRLF`, `JOB_TOO_BIG`), a reply that does
 * not fit the command, or bytes that are not the beanstalkd protocol at all (then the
 * connection is dropped and re-established).
 */
export class ProtocolError extends DocketError {
  static readonly code = PROTOCOL;
  /** The reply word when the server answered with an error reply, e.g. `'JOB_TOO_BIG'`. */
  readonly reply: string | undefined;

  constructor(message: string, options?: { cause?: unknown; reply?: string }) {
    super(PROTOCOL, message, options);
    this.reply = options?.reply;
  }
}

/**
 * The connection to the server failed or dropped before the command was answered. A
 * `put` that fails this way may or may not have reached the server.
 */
export class ConnectionError extends DocketError {
  static readonly code = CONNECTION;

  constructor(message: string, options?: { cause?: unknown }) {
    super(CONNECTION, message, options);
  }
}

/**
 * resp/protocol-error: the error raised when bytes on a Redis connection are not valid RESP or
 * break one of the configured bounds.
 */
import { XError, type ErrorKind } from '../../errors.js';

/**
 * RespProtocolError reports malformed or oversized RESP input. Its message is Redis's own
 * (`Protocol error: invalid bulk length`), so the engine answers exactly what Redis answers for
 * the same bytes ({@link RespProtocolError.reply}) and closes the connection, as Redis does. Request-side errors have kind `bad-parameter` (the client
 * sent bad bytes); reply-side errors have kind `connection-problem` (the server misbehaved).
 */
export class RespProtocolError extends XError {
  /** True for a bound of xport's own, which Redis would not report: answered as `-ERR xport: …`. */
  readonly ownLimit: boolean;

  /** ownLimit: the detail is a bound of xport's own, said plainly rather than as a protocol error. */
  constructor(detail: string, kind: ErrorKind = 'bad-parameter', ownLimit = false) {
    super(kind, ownLimit ? detail : `Protocol error: ${detail}`, {
      hint:
        kind === 'bad-parameter'
          ? 'The client sent bytes that are not valid RESP; the connection was closed.'
          : 'The Redis server sent bytes that are not valid RESP; the connection was closed.',
    });
    this.name = 'RespProtocolError';
    this.ownLimit = ownLimit;
  }

  /**
   * reply is the error line for the client: `-ERR Protocol error: …` byte for byte as Redis
   * sends it for a malformed request (the offending byte raw, as Redis's `%c` prints it), or
   * `-ERR xport: …` for a bound that is xport's own.
   */
  get reply(): Buffer {
    const prefix = this.ownLimit ? '-ERR xport: ' : '-ERR ';
    return Buffer.from(`${prefix}${this.message}\r\n`, 'latin1');
  }
}

/** describeByte renders one input byte for an error message: printable ASCII as is, else `\xNN`. */
export function describeByte(b: number): string {
  return b >= 0x21 && b <= 0x7e ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
}

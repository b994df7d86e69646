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
  constructor(detail: string, kind: ErrorKind = 'bad-parameter') {
    super(kind, `Protocol error: ${detail}`, {
      hint:
        kind === 'bad-parameter'
          ? 'The client sent bytes that are not valid RESP; the connection was closed.'
          : 'The Redis server sent bytes that are not valid RESP; the connection was closed.',
    });
    this.name = 'RespProtocolError';
  }

  /**
   * reply is the error line for the client: `-ERR Protocol error: …` byte for byte as Redis
   * sends it for a malformed request (the offending byte raw, as Redis's `%c` prints it), or
   * `-ERR xport: …` for a bound that is xport's own (kind `limit-exceeded`).
   */
  get reply(): Buffer {
    const prefix = this.kind === 'limit-exceeded' ? '-ERR xport: ' : '-ERR ';
    return Buffer.from(`${prefix}${this.message}\r\n`, 'latin1');
  }
}

/** describeByte renders one input byte for an error message: printable ASCII as is, else `\xNN`. */
export function describeByte(b: number): string {
  return b >= 0x21 && b <= 0x7e ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
}

/**
 * errors: the one error type xport raises, its kinds, and the exit-code table.
 *
 * Every layer throws {@link XError} through the factories below; foreign errors (SDKs, sockets,
 * commander) are converted at the edge that catches them. The CLI maps kinds to exit codes in one
 * place (`cli/shared/errors.ts`), the RESP engine encodes them as `-ERR xport: <message>`.
 * Imports nothing internal.
 */

const BRAND = Symbol.for('xport.error');

/** ErrorKind classifies an {@link XError}; the CLI derives its exit code from it. */
export type ErrorKind =
  | 'usage'
  | 'bad-parameter'
  | 'not-found'
  | 'already-exists'
  | 'access-denied'
  | 'auth-required'
  | 'connection-problem'
  | 'conflict'
  | 'limit-exceeded'
  | 'not-implemented'
  | 'internal';

/** ExitCode is the process exit status for each outcome (ARCHITECTURE §6). */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  AUTH_REQUIRED: 4,
  INTERRUPTED: 130,
} as const;

/** XError is an error with a kind, a user-facing message, an optional hint line and a cause. */
export class XError extends Error {
  readonly [BRAND] = true;
  readonly kind: ErrorKind;
  /** A whole sentence telling the user what to do next, printed on its own line. */
  readonly hint: string | undefined;

  constructor(kind: ErrorKind, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'XError';
    this.kind = kind;
    this.hint = opts.hint;
  }
}

/**
 * isXError tells whether err is an {@link XError}. It checks a registered symbol rather than
 * `instanceof` so errors stay recognisable when two copies of the library are loaded.
 */
export function isXError(err: unknown): err is XError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

type Opts = { hint?: string; cause?: unknown };

/** usage reports a bad flag or argument (exit 2). */
export const usage = (msg: string, opts?: Opts) => new XError('usage', msg, opts);
/** badParameter reports a value that is well-formed but wrong (bad config, bad TTL). */
export const badParameter = (msg: string, opts?: Opts) => new XError('bad-parameter', msg, opts);
/** notFound reports a missing user, role, token, database or file. */
export const notFound = (msg: string, opts?: Opts) => new XError('not-found', msg, opts);
/** alreadyExists reports a create that collides with an existing object. */
export const alreadyExists = (msg: string, opts?: Opts) => new XError('already-exists', msg, opts);
/** accessDenied reports an RBAC or authentication refusal. */
export const accessDenied = (msg: string, opts?: Opts) => new XError('access-denied', msg, opts);
/** authRequired reports a missing or expired login (exit 4). */
export const authRequired = (msg: string, opts?: Opts) => new XError('auth-required', msg, opts);
/** connectionProblem reports an unreachable or misbehaving peer. */
export const connectionProblem = (msg: string, opts?: Opts) => new XError('connection-problem', msg, opts);
/** conflict reports a concurrent modification (revision mismatch) or a held lock. */
export const conflict = (msg: string, opts?: Opts) => new XError('conflict', msg, opts);
/** limitExceeded reports a bounded input that went over its bound (frame size, lockout). */
export const limitExceeded = (msg: string, opts?: Opts) => new XError('limit-exceeded', msg, opts);
/** notImplemented reports a feature or command xport does not support. */
export const notImplemented = (msg: string, opts?: Opts) => new XError('not-implemented', msg, opts);
/** internal reports a bug; the CLI suggests re-running with --debug. */
export const internal = (msg: string, opts?: Opts) => new XError('internal', msg, opts);

/** exitCodeFor maps an error to the process exit status. */
export function exitCodeFor(err: unknown): number {
  if (!isXError(err)) return ExitCode.ERROR;
  switch (err.kind) {
    case 'usage':
      return ExitCode.USAGE;
    case 'auth-required':
      return ExitCode.AUTH_REQUIRED;
    default:
      return ExitCode.ERROR;
  }
}

/** HTTP status codes used by the web API for each kind, and back. */
const HTTP_STATUS: Record<ErrorKind, number> = {
  usage: 400,
  'bad-parameter': 400,
  'not-found': 404,
  'already-exists': 409,
  'access-denied': 403,
  'auth-required': 401,
  'connection-problem': 502,
  conflict: 409,
  'limit-exceeded': 429,
  'not-implemented': 501,
  internal: 500,
};

/** httpStatusFor gives the HTTP status the web API answers for an error kind. */
export function httpStatusFor(kind: ErrorKind): number {
  return HTTP_STATUS[kind];
}

/** isErrorKind tells whether s names an {@link ErrorKind} (used when decoding API errors). */
export function isErrorKind(s: unknown): s is ErrorKind {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(HTTP_STATUS, s);
}

/** messageOf returns err's message whatever err is. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

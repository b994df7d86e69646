/**
 * db/session: one authenticated database session as an engine sees it — who, which database, as
 * which db user, until when, and the two capabilities the engine needs from above without
 * importing them: an access checker (RBAC, implemented in auth/) and an audit sink.
 */
import type { DatabaseSpec } from './database.js';

/** SessionChecker is the RBAC an engine consults during a session. */
export interface SessionChecker {
  /** checkDbUser throws access-denied unless the roles allow this db user on this database. */
  checkDbUser(dbUser: string): void;
  /** checkDbName throws access-denied unless the roles allow this db name (Redis DB number). */
  checkDbName(dbName: string): void;
  /**
   * commandAllowed tells whether a command may run. `command` is lower-case, with a subcommand
   * as `config|set`; categories come from the server's COMMAND INFO (`@read`, `@write`, …).
   */
  commandAllowed(command: string, categories: readonly string[]): boolean;
  /**
   * keyAllowed tells whether a command may touch this key (the roles' `redis_keys`, matched as
   * Redis's ACL matches `~pattern`). Absent: every key.
   */
  keyAllowed?(key: Buffer): boolean;
  /**
   * channelAllowed tells whether a pub/sub command may use this channel (or, isPattern, this
   * PSUBSCRIBE pattern) under the roles' `redis_channels`. Absent: every channel.
   */
  channelAllowed?(channel: Buffer, isPattern: boolean): boolean;
  /**
   * aclRules are the Redis ACL rules a managed db user gets for this session (derived from the
   * roles, kept current as they change). Absent for checkers that know no roles. Throws
   * bad-parameter when the roles have no Redis ACL form.
   */
  aclRules?(): readonly string[];
}

/** SessionAuditEvent is what an engine reports; the sink adds session metadata and time. */
export interface SessionAuditEvent {
  type: 'db.session.start' | 'db.session.end' | 'db.session.query';
  success?: boolean;
  error?: string;
  /** For queries: the command name (lower-case), the key names, and the redacted command text. */
  command?: string;
  keys?: string[];
  query?: string;
  [field: string]: unknown;
}

/** SessionAudit receives a session's events. emit() must not block or throw: it only buffers. */
export interface SessionAudit {
  emit(event: SessionAuditEvent): void;
  /**
   * flush writes the buffered events to the write-ahead audit log in one write; the engine calls
   * it right before it forwards the bytes carrying the commands those events describe. Throws
   * when the log cannot be written: the engine then refuses the commands (no audit, no access).
   * Absent: events need no flush (a sink that is not write-ahead, as in some unit tests).
   */
  flush?(): void;
}

/** Session is one client connection to one database. */
export interface Session {
  id: string;
  user: string;
  roles: string[];
  database: DatabaseSpec;
  /** The Redis ACL user the session runs as (`default` when none was asked for). */
  dbUser: string;
  /** The Redis DB number to SELECT at start, when the route names one. */
  dbName?: string;
  /** When the user's certificate expires; upstream credentials must not outlive it. */
  expires: Date;
  /**
   * The user's certificate routed to this database (base64 DER), as the proxy passed it: the
   * proof the agent presents when it asks the auth service for anything on the user's behalf.
   */
  proof?: string;
  /** The proxy replica that opened the session (see {@link SessionProof.via}). */
  via?: string;
  clientAddr?: string;
  checker: SessionChecker;
  audit: SessionAudit;
}

/**
 * auth/types: the auth service's domain objects as stored and as returned by the web API.
 */

/** Traits are per-user values that roles interpolate (`{{internal.db_users}}`). */
export interface Traits {
  db_users: string[];
  db_names: string[];
}

/** User is an xport user as stored (key `users/<name>`). */
export interface User {
  name: string;
  roles: string[];
  traits: Traits;
  createdAt: string;
  /** scrypt hash string `scrypt$N$r$p$saltB64$hashB64`; absent until the invite is completed. */
  passwordHash?: string;
  /** Base32 TOTP secret once a second factor is registered. Never returned by the API. */
  totpSecret?: string;
  /** Last TOTP time step accepted, to refuse replay of the same code. */
  totpLastStep?: number;
}

/** PublicUser is a user as shown to admins: no hashes, no secrets. */
export interface PublicUser {
  name: string;
  roles: string[];
  traits: Traits;
  createdAt: string;
  status: 'active' | 'invited' | 'locked';
}

/** RoleConditions is one side (allow or deny) of a role. */
export interface RoleConditions {
  /** Label selectors: key → value or list of values; `'*': '*'` matches everything. Values may be globs or `^regex$`. */
  db_labels?: Record<string, string | string[]>;
  db_users?: string[];
  db_names?: string[];
  /** Admin rules: which API resources this role may act on. */
  rules?: { resources: string[]; verbs: string[] }[];
  /** Redis command rules: names (`get`, `-flushall`) and ACL categories (`+@read`, `-@dangerous`). */
  redis_commands?: string[];
  /**
   * Redis key patterns (Redis glob, as in `ACL SETUSER ~app:*`) the session's commands may touch;
   * absent means every key. Enforced by xport per command and, for managed users, by Redis.
   */
  redis_keys?: string[];
  /** Pub/sub channel patterns (`&news.*`); absent means every channel. Enforced by Redis for managed users. */
  redis_channels?: string[];
}

/** Role is a role resource (`kind: role`, `version: v1`). */
export interface Role {
  kind: 'role';
  version: 'v1';
  metadata: { name: string; description?: string };
  spec: {
    options?: { max_session_ttl?: string };
    allow?: RoleConditions;
    deny?: RoleConditions;
  };
}

/** JoinTokenType names what a join token admits. Only database agents join today. */
export type JoinTokenType = 'db';

/** JoinToken is a join token as stored under `tokens/<sha256 of the token>` (the token itself is never stored). */
export interface JoinToken {
  /** First 4 and last 4 characters, for listings (`4b1c…e9f0`). */
  hint: string;
  hash: string;
  type: JoinTokenType;
  labels: Record<string, string>;
  expires: string;
  createdAt: string;
  /** Joins left; absent in tokens stored before uses existed (one). */
  uses?: number;
}

/** UserToken is an invite (1h default) or reset (8h default) token, single use, stored hashed. */
export interface UserToken {
  kind: 'invite' | 'reset';
  user: string;
  expires: string;
  /** TOTP secret proposed to the user while completing the token (second_factor: otp). */
  pendingTotpSecret?: string;
}

/**
 * db/credentials: how an engine gets what it needs to authenticate to a database on a user's
 * behalf, per database type (self-hosted: a short-lived db_client certificate; AWS: an IAM token;
 * Azure: an access key or Entra ID token). Implementations live in service/ and cloud/.
 */
import { isIP } from 'node:net';
import { badParameter } from '../errors.js';
import type { DatabaseSpec, DatabaseType } from './database.js';
import type { Session } from './session.js';

/** UpstreamCredentials is everything needed to open one authenticated upstream connection. */
export interface UpstreamCredentials {
  /** AUTH username/password to send after connecting (none for mTLS-only self-hosted Redis). */
  username?: string;
  password?: string;
  tls: {
    /** Client certificate chain and key (PEM) for mutual TLS. */
    certPem?: string;
    keyPem?: string;
    /** CA(s) to verify the server with; undefined means the system store. */
    caPem?: string;
    /** Name to check in the server certificate; undefined means the host. */
    serverName?: string;
    /** false only for tls.mode insecure. */
    rejectUnauthorized: boolean;
    /** verify-ca: check the chain but not the name. */
    checkServerName: boolean;
  };
  /** When these credentials stop working (cert expiry, token expiry). */
  expiresAt?: Date;
  /**
   * The agent authenticates this db user itself (IAM token, managed-user password, legacy AUTH
   * token): a client's own `AUTH` as the session's db user is answered OK without being
   * forwarded, since the client cannot know the password.
   */
  localAuth?: boolean;
}

/**
 * serverTls is how to verify a database's server certificate, from its `tls` settings: the one
 * place every provider gets it from, so `verify-full`, `verify-ca`, `insecure` and `disabled` mean
 * the same for every kind of database. defaultCaPem is the provider's CA when the database names
 * none (self-hosted: the db CA); without either, the system store (AWS, Azure).
 */
export function serverTls(db: DatabaseSpec, defaultCaPem?: string): UpstreamCredentials['tls'] {
  const caPem = db.tls.caCertPem ?? defaultCaPem;
  const serverName = db.tls.serverName ?? (isIP(db.host) ? undefined : db.host);
  return {
    ...(caPem ? { caPem } : {}),
    ...(serverName ? { serverName } : {}),
    rejectUnauthorized: db.tls.mode !== 'insecure',
    checkServerName: db.tls.mode === 'verify-full',
  };
}

/**
 * SessionProof names the session credentials are asked for and carries what authorised it: the
 * user's certificate routed to the database (base64 DER), as the proxy passed it to the agent.
 * The auth service issues a db_client certificate only against such a proof (issue 8 §5).
 */
export interface SessionProof {
  id: string;
  proof: string;
  /**
   * The address of the proxy replica whose tunnel carried the session: only that replica knows
   * the session is live, so a remote agent asks it, not any replica, for the session's
   * db_client certificate.
   */
  via?: string;
}

/** CredentialOptions bound what a provider returns to one session. */
export interface CredentialOptions {
  /** The credentials must not outlive this (the session's certificate expiry). */
  notAfter: Date;
  signal?: AbortSignal;
  /** The session asking; providers that do not ask the auth service may ignore it. */
  session?: SessionProof;
  /**
   * The Redis ACL rules the session's roles derive for its db user (see
   * {@link SessionChecker.aclRules}); asked only by providers that manage ACL users, since it
   * throws for roles with no Redis ACL form.
   */
  aclRules?: () => readonly string[];
}

/** credentialOptions is what an engine passes to {@link CredentialProvider.credentials} for a session. */
export function credentialOptions(session: Session, signal?: AbortSignal): CredentialOptions {
  return {
    notAfter: session.expires,
    ...(signal ? { signal } : {}),
    ...(session.proof !== undefined ? { session: { id: session.id, proof: session.proof, ...(session.via ? { via: session.via } : {}) } } : {}),
    ...(session.checker.aclRules ? { aclRules: () => session.checker.aclRules!() } : {}),
  };
}

/**
 * CredentialProvider returns credentials for a database and db user. It is asked again for every
 * upstream dial (a cluster node link opened late gets fresh credentials) and before `expiresAt`
 * (the engine re-authenticates live connections), so it should cache what is still valid.
 */
export interface CredentialProvider {
  credentials(db: DatabaseSpec, dbUser: string, opts: CredentialOptions): Promise<UpstreamCredentials>;
  /**
   * invalidate drops cached credentials the database refused (WRONGPASS after a key rotation), so
   * the next call fetches fresh ones. Optional: providers without a cache need not implement it.
   */
  invalidate?(db: DatabaseSpec, dbUser: string): void;
}

/**
 * CredentialRegistry chooses the provider by database type: the one place a new kind of database
 * plugs in (like the engine registry). It is itself a CredentialProvider, so engines never see it.
 */
export class CredentialRegistry implements CredentialProvider {
  private readonly providers = new Map<DatabaseType, CredentialProvider>();

  /** register serves these database types with provider; a type registered twice is a programming error. */
  register(types: DatabaseType | readonly DatabaseType[], provider: CredentialProvider): this {
    for (const t of typeof types === 'string' ? [types] : types) {
      if (this.providers.has(t)) throw new Error(`credential provider for database type "${t}" registered twice`);
      this.providers.set(t, provider);
    }
    return this;
  }

  /** types lists the registered database types. */
  types(): DatabaseType[] {
    return [...this.providers.keys()];
  }

  private providerFor(db: DatabaseSpec): CredentialProvider {
    const p = this.providers.get(db.type);
    if (!p) throw badParameter(`database "${db.name}" is of type "${db.type}", which this agent cannot authenticate to`, { hint: `Supported types: ${this.types().join(', ')}.` });
    return p;
  }

  credentials(db: DatabaseSpec, dbUser: string, opts: CredentialOptions): Promise<UpstreamCredentials> {
    try {
      return this.providerFor(db).credentials(db, dbUser, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  invalidate(db: DatabaseSpec, dbUser: string): void {
    this.providers.get(db.type)?.invalidate?.(db, dbUser);
  }
}

/**
 * lazyProvider loads a provider on first use, so a cloud SDK is imported only by an agent that
 * serves such a database (and never by xsh). A failed load is retried on the next call.
 */
export function lazyProvider(load: () => Promise<CredentialProvider>): CredentialProvider {
  let loading: Promise<CredentialProvider> | undefined;
  let loaded: CredentialProvider | undefined;
  const get = () => {
    if (!loading) {
      loading = load().then((p) => (loaded = p));
      loading.catch(() => (loading = undefined));
    }
    return loading;
  };
  return {
    credentials: async (db, dbUser, opts) => (await get()).credentials(db, dbUser, opts),
    invalidate: (db, dbUser) => loaded?.invalidate?.(db, dbUser),
  };
}

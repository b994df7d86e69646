/**
 * db/credentials: how an engine gets what it needs to authenticate to a database on a user's
 * behalf, per database type (self-hosted: a short-lived db_client certificate; AWS: an IAM token;
 * Azure: an access key or Entra ID token). Implementations live in service/ and cloud/.
 */
import type { DatabaseSpec } from './database.js';

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
}

/** CredentialProvider returns credentials for a database and db user. */
export interface CredentialProvider {
  credentials(db: DatabaseSpec, dbUser: string, opts: { notAfter: Date; signal?: AbortSignal }): Promise<UpstreamCredentials>;
}

/**
 * db/credentials: how an engine gets what it needs to authenticate to a database on a user's
 * behalf, per database type (self-hosted: a short-lived db_client certificate; AWS: an IAM token;
 * Azure: an access key or Entra ID token). Implementations live in service/ and cloud/.
 */
import type { DatabaseSpec } from './database.js';
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
}

/**
 * SessionProof names the session credentials are asked for and carries what authorised it: the
 * user's certificate routed to the database (base64 DER), as the proxy passed it to the agent.
 * The auth service issues a db_client certificate only against such a proof (issue 8 §5).
 */
export interface SessionProof {
  id: string;
  proof: string;
}

/** CredentialOptions bound what a provider returns to one session. */
export interface CredentialOptions {
  /** The credentials must not outlive this (the session's certificate expiry). */
  notAfter: Date;
  signal?: AbortSignal;
  /** The session asking; providers that do not ask the auth service may ignore it. */
  session?: SessionProof;
}

/** CredentialProvider returns credentials for a database and db user. */
export interface CredentialProvider {
  credentials(db: DatabaseSpec, dbUser: string, opts: CredentialOptions): Promise<UpstreamCredentials>;
}

/** credentialOptions is what an engine passes to {@link CredentialProvider.credentials} for a session. */
export function credentialOptions(session: Session, signal?: AbortSignal): CredentialOptions {
  return {
    notAfter: session.expires,
    ...(signal ? { signal } : {}),
    ...(session.proof !== undefined ? { session: { id: session.id, proof: session.proof } } : {}),
  };
}

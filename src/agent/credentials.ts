/**
 * agent/credentials: the self-hosted Redis credential provider — a short-lived client
 * certificate from the db_client CA (CN = the db user), never outliving the session, plus the
 * TLS verification the database's `tls` settings ask for.
 *
 * The auth service signs only for a session the agent serves, so each request carries the
 * session's proof (the user's routed certificate). Certificates are cached per (database, db
 * user, proof, expiry minute): a burst of sessions from one routed login costs one signature and
 * reuses the same credential object (and so the engine's cached TLS context), while a different
 * user's session never rides on a certificate obtained with someone else's proof.
 */
import { isIP } from 'node:net';
import type { CredentialOptions, CredentialProvider, SessionProof, UpstreamCredentials } from '../db/credentials.js';
import type { DatabaseSpec } from '../db/database.js';
import type { Clock } from '../util/clock.js';
import { newClientKey, type AgentAuth } from './auth.js';

/** SelfHostedCredentials implements {@link CredentialProvider} for self-hosted Redis. */
export class SelfHostedCredentials implements CredentialProvider {
  private readonly cache = new Map<string, Promise<UpstreamCredentials>>();

  constructor(private readonly auth: AgentAuth, private readonly clock: Clock) {}

  async credentials(db: DatabaseSpec, dbUser: string, opts: CredentialOptions): Promise<UpstreamCredentials> {
    const now = this.clock.now().getTime();
    // Round the expiry down to the minute: shareable between sessions of one login, never later
    // than the session's own expiry.
    const notAfter = new Date(Math.max(now + 1000, Math.floor(opts.notAfter.getTime() / 60_000) * 60_000));
    const key = `${db.name}|${dbUser}|${opts.session?.proof ?? ''}|${notAfter.getTime()}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.issue(db, dbUser, notAfter, opts.session);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
      this.prune(now);
    }
    return p;
  }

  private async issue(db: DatabaseSpec, dbUser: string, notAfter: Date, session: SessionProof | undefined): Promise<UpstreamCredentials> {
    const kp = newClientKey();
    const cert = await this.auth.signDbClientCert({ ...(session ? { session } : {}), database: db.name, dbUser, publicKeyPem: kp.publicKeyPem, notAfter });
    return {
      tls: { ...serverTls(db, this.auth.dbCaPem), certPem: cert.certPem, keyPem: kp.privateKeyPem },
      expiresAt: cert.notAfter,
    };
  }

  private prune(now: number): void {
    if (this.cache.size < 1000) return;
    for (const k of this.cache.keys()) {
      if (Number(k.slice(k.lastIndexOf('|') + 1)) <= now) this.cache.delete(k);
    }
  }
}

/**
 * serverTls is how the agent verifies a self-hosted database's certificate: the server was signed
 * by `xctl auth sign --format=redis` (the db CA) unless tls.ca_cert_file names the operator's own
 * CA. Without a client certificate it is also what the health check dials with: a db_client
 * certificate is issued only for a live session (issue 8 §5), so the check proves the path and the
 * server's certificate, and sessions prove the client side.
 */
export function serverTls(db: DatabaseSpec, dbCaPem: string): UpstreamCredentials['tls'] {
  const serverName = db.tls.serverName ?? (isIP(db.host) ? undefined : db.host);
  return {
    caPem: db.tls.caCertPem ?? dbCaPem,
    ...(serverName ? { serverName } : {}),
    rejectUnauthorized: db.tls.mode !== 'insecure',
    checkServerName: db.tls.mode === 'verify-full',
  };
}

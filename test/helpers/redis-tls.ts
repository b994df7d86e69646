/**
 * test/helpers/redis-tls: a redis-server that only speaks mutual TLS, set up the way xport's
 * docs tell admins to: a `db` CA signs the server certificate, Redis trusts only the `db_client`
 * CA for client certificates (`tls-auth-clients yes`), and an ACL file defines the users.
 * Certificates come from xport's own pki; the redis-server process is started and stopped by
 * `startRedis` (PID).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthority, generateKeyPair } from '../../src/pki/index.js';
import { tmpDir } from './cli.js';
import { startRedis, type RedisServer } from './redis-server.js';

/** ClientCertificate is a client certificate and its key, PEM. */
export interface ClientCertificate {
  certPem: string;
  keyPem: string;
}

/** TlsRedis is a running TLS-only redis-server and the CAs around it. */
export interface TlsRedis {
  server: RedisServer;
  port: number;
  dir: string;
  /** Signed the server certificate; clients verify the server with it. */
  dbCa: CertificateAuthority;
  /** The only CA Redis accepts client certificates from. */
  clientCa: CertificateAuthority;
  /** Files for redis-cli / redis-benchmark `--tls`: the db CA and a client certificate (CN alice). */
  files: { ca: string; cert: string; key: string };
  /** issueClient signs a client certificate for cn from the db_client CA. */
  issueClient(cn: string, notAfter?: Date): ClientCertificate;
  stop(): Promise<void>;
}

/** TlsRedisOptions configure {@link startTlsRedis}. */
export interface TlsRedisOptions {
  /** ACL file lines, e.g. `user alice on >alice-pw ~* &* +@all`. */
  acl: string[];
  /** Extra redis.conf lines. */
  config?: string[];
}

/** startTlsRedis starts redis-server with `port 0`, a TLS port, mutual TLS and an ACL file. */
export async function startTlsRedis(opts: TlsRedisOptions): Promise<TlsRedis> {
  const dbCa = CertificateAuthority.create({ type: 'db', clusterName: 'test' });
  const clientCa = CertificateAuthority.create({ type: 'db_client', clusterName: 'test' });
  const now = Date.now();
  const serverKeys = generateKeyPair();
  const serverCert = dbCa.issue({
    publicKey: serverKeys.publicKey,
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3600_000),
    extKeyUsage: ['serverAuth', 'clientAuth'],
  });
  const issueClient = (cn: string, notAfter = new Date(Date.now() + 3600_000)): ClientCertificate => {
    const keys = generateKeyPair();
    const cert = clientCa.issue({
      publicKey: keys.publicKey,
      commonName: cn,
      notBefore: new Date(Date.now() - 60_000),
      notAfter,
      extKeyUsage: ['clientAuth'],
    });
    return { certPem: cert.certPem, keyPem: keys.privateKeyPem };
  };

  // The config needs the file paths before the server's dir exists: write them to a dir of our own.
  const certDir = await tmpDir('xport-redis-tls-');
  const file = async (name: string, body: string) => {
    const p = join(certDir, name);
    await writeFile(p, body, { mode: 0o600 });
    return p;
  };
  const serverCertFile = await file('server.crt', serverCert.certPem);
  const serverKeyFile = await file('server.key', serverKeys.privateKeyPem);
  const clientCaFile = await file('db-client-ca.crt', clientCa.certPem);
  const aclFile = await file('users.acl', opts.acl.join('\n') + '\n');
  const alice = issueClient('alice', new Date(now + 24 * 3600_000));
  const files = {
    ca: await file('db-ca.crt', dbCa.certPem),
    cert: await file('client.crt', alice.certPem),
    key: await file('client.key', alice.keyPem),
  };
  const server = await startRedis(
    [
      `tls-cert-file ${serverCertFile}`,
      `tls-key-file ${serverKeyFile}`,
      `tls-ca-cert-file ${clientCaFile}`,
      'tls-auth-clients yes',
      'tls-protocols "TLSv1.2 TLSv1.3"',
      `aclfile ${aclFile}`,
      ...(opts.config ?? []),
    ],
    { tlsPort: true },
  );
  return {
    server,
    port: server.port,
    dir: certDir,
    dbCa,
    clientCa,
    files,
    issueClient,
    stop: () => server.stop(),
  };
}

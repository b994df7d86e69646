/**
 * Real-world validity of issued certificates, in-process: node:tls (OpenSSL) must accept a server
 * leaf from the db CA and a client leaf from the user CA in a TLS 1.3 mutual handshake, which also
 * exercises extKeyUsage, SAN (IP 127.0.0.1) and keyUsage the way any TLS peer checks them.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/pki/ca.js';
import { decodeIdentity } from '../../../src/pki/identity.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import type { ExtKeyUsage, Identity, KeyAlgorithm } from '../../../src/pki/types.js';

const identity: Identity = {
  user: 'alice',
  roles: ['dev'],
  traits: { db_users: ['alice'], db_names: [] },
  usage: 'user',
  cluster: 'example',
};

interface Party {
  key: string;
  cert: string;
  ca: string;
}

/** party issues a leaf from `issuer` for a fresh key and trusts `trusted` for the peer. */
function party(issuer: CertificateAuthority, trusted: CertificateAuthority, algorithm: KeyAlgorithm, extKeyUsage: ExtKeyUsage[], withIdentity: boolean): Party {
  const keys = generateKeyPair(algorithm);
  const now = Date.now();
  const leaf = issuer.issue({
    publicKey: keys.publicKeyPem,
    commonName: withIdentity ? identity.user : 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3600_000),
    extKeyUsage,
    ...(withIdentity ? { identity } : {}),
  });
  return { key: keys.privateKeyPem, cert: leaf.certPem, ca: trusted.certPem };
}

const servers: ReturnType<typeof createServer>[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

interface Outcome {
  serverAuthorized: boolean;
  clientAuthorized: boolean;
  clientError?: string;
  serverError?: string;
  serverAuthorizationError?: string;
  protocol?: string | null;
  peerIdentity?: Identity;
}

/** handshake runs one mutual-TLS connection on 127.0.0.1 and reports what each side concluded. */
async function handshake(server: Party, client: Party, serverRejects = true): Promise<Outcome> {
  const outcome: Outcome = { serverAuthorized: false, clientAuthorized: false };
  const tlsServer = createServer({
    key: server.key,
    cert: server.cert,
    ca: server.ca,
    requestCert: true,
    // With rejectUnauthorized node drops a bad client silently; off, it reports why.
    rejectUnauthorized: serverRejects,
    minVersion: 'TLSv1.3',
  });
  servers.push(tlsServer);
  const serverDone = new Promise<void>((resolve) => {
    tlsServer.on('secureConnection', (socket: TLSSocket) => {
      outcome.serverAuthorized = socket.authorized;
      if (socket.authorizationError) outcome.serverAuthorizationError = String(socket.authorizationError);
      outcome.peerIdentity = decodeIdentity(socket.getPeerCertificate().raw);
      socket.end('ok');
      resolve();
    });
    tlsServer.on('tlsClientError', (err) => {
      outcome.serverError = err.message;
      resolve();
    });
  });
  tlsServer.listen(0, '127.0.0.1');
  await once(tlsServer, 'listening');
  const { port } = tlsServer.address() as AddressInfo;

  const socket = connect({ host: '127.0.0.1', port, key: client.key, cert: client.cert, ca: client.ca, minVersion: 'TLSv1.3' });
  const clientDone = new Promise<void>((resolve) => {
    socket.on('secureConnect', () => {
      outcome.clientAuthorized = socket.authorized;
      outcome.protocol = socket.getProtocol();
    });
    socket.on('data', () => socket.end());
    socket.on('error', (err) => {
      outcome.clientError = err.message;
      resolve();
    });
    socket.on('close', () => resolve());
  });
  await Promise.all([serverDone, clientDone]);
  socket.destroy();
  return outcome;
}

describe.each<KeyAlgorithm>(['ecdsa-p256', 'rsa-2048'])('mutual TLS 1.3 with %s certificates', (algorithm) => {
  let dbCa: CertificateAuthority;
  let userCa: CertificateAuthority;
  let server: Party;
  let client: Party;

  beforeAll(() => {
    dbCa = CertificateAuthority.create({ type: 'db', clusterName: 'example', algorithm });
    userCa = CertificateAuthority.create({ type: 'user', clusterName: 'example', algorithm });
    server = party(dbCa, userCa, algorithm, ['serverAuth'], false);
    client = party(userCa, dbCa, algorithm, ['clientAuth'], true);
  }, 60_000);

  it('authorizes both sides, and the server reads the client identity', async () => {
    const outcome = await handshake(server, client);
    expect(outcome).toMatchObject({ serverAuthorized: true, clientAuthorized: true, protocol: 'TLSv1.3' });
    expect(outcome.peerIdentity).toEqual(identity);
  });

  it('makes the server refuse a client certificate from another CA', async () => {
    const stranger = party(dbCa, dbCa, algorithm, ['clientAuth'], true);
    const refused = await handshake(server, stranger);
    expect(refused.serverAuthorized).toBe(false);
    expect(refused.peerIdentity).toBeUndefined();
    // Run again with the server reporting instead of dropping, to see OpenSSL's reason. (The
    // client's OpenSSL sends the db CA along as the chain, hence "self-signed in chain".)
    const reported = await handshake(server, stranger, false);
    expect(reported.serverAuthorized).toBe(false);
    expect(reported.serverAuthorizationError).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF/);
  });

  it('makes the client refuse a server certificate without serverAuth', async () => {
    const clientOnly = party(dbCa, userCa, algorithm, ['clientAuth'], false);
    const outcome = await handshake(clientOnly, client);
    expect(outcome.clientAuthorized).toBe(false);
    expect(outcome.clientError).toMatch(/unsuitable certificate purpose/);
  });
});

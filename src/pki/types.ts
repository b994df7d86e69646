/**
 * pki/types: the certificate contracts shared by the auth service, the proxy, agents and xsh.
 * Pure types; the implementation lives beside this file.
 */
import type { KeyObject } from 'node:crypto';

/** CAType names the four certificate authorities of a cluster (ARCHITECTURE §4). */
export type CAType = 'user' | 'host' | 'db' | 'db_client';
/** CA_TYPES lists every CA type in a stable order. */
export const CA_TYPES: readonly CAType[] = ['user', 'host', 'db', 'db_client'];

/** KeyAlgorithm is the key type for CA and leaf keys: ECDSA P-256 by default, RSA-2048 on request. */
export type KeyAlgorithm = 'ecdsa-p256' | 'rsa-2048';

/** KeyPair is a freshly generated key pair, as objects and as PEM (PKCS#8 / SPKI). */
export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privateKeyPem: string;
  publicKeyPem: string;
}

/**
 * IdentityUsage restricts what a certificate may be used for:
 * `user` (xsh login), `admin` (the local xctl admin identity), `host` (proxy/agent host certs),
 * `db` (proxy↔agent), `db_client` (agent→Redis), `db_server` (Redis server certs).
 */
export type IdentityUsage = 'user' | 'admin' | 'host' | 'db' | 'db_client' | 'db_server';

/** RouteToDatabase binds a user certificate to one database (xsh db login). */
export interface RouteToDatabase {
  database: string;
  dbUser?: string;
  dbName?: string;
}

/**
 * Identity is what an xport certificate asserts. It travels as one JSON claim in one private
 * X.509 extension (OID {@link IDENTITY_OID}); the certificate's CN equals `user`.
 */
export interface Identity {
  user: string;
  roles: string[];
  traits: { db_users: string[]; db_names: string[] };
  usage: IdentityUsage;
  cluster: string;
  route?: RouteToDatabase;
  /** For host certificates: the host's id (agents, proxies). */
  hostId?: string;
}

/**
 * IDENTITY_OID is the private extension that carries the identity claim: arc 2.25 followed by the
 * decimal form of a UUID generated once for xport (2.25 is ITU-T X.667's UUID arc).
 */
export const IDENTITY_OID = '2.25.255019452155203856426069155046390743405';

/** CAMaterial is how a CA is persisted: its certificate and its private key, both PEM. */
export interface CAMaterial {
  type: CAType;
  certPem: string;
  keyPem: string;
}

/** ExtKeyUsage values we put in leaf certificates. */
export type ExtKeyUsage = 'serverAuth' | 'clientAuth';

/** SignRequest describes one leaf certificate to issue. The caller has already authorized it. */
export interface SignRequest {
  /** The subject's public key (a KeyObject or SPKI PEM). Private keys never reach the CA. */
  publicKey: KeyObject | string;
  commonName: string;
  organization?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  notBefore: Date;
  notAfter: Date;
  extKeyUsage: ExtKeyUsage[];
  identity?: Identity;
}

/** IssuedCertificate is a signed leaf. */
export interface IssuedCertificate {
  certPem: string;
  certDer: Buffer;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** VerifiedIdentity is an identity read from a certificate whose chain and validity were checked. */
export interface VerifiedIdentity extends Identity {
  notBefore: Date;
  expires: Date;
  serial: string;
}

/**
 * identity: the xport identity claim ⇄ its certificate extension.
 *
 * The claim is `JSON.stringify(identity)` in a UTF8String, wrapped in the extension's OCTET STRING,
 * under the private OID IDENTITY_OID (non-critical, so foreign TLS stacks ignore it). Reading it
 * back validates the JSON shape and returns a fresh object holding only the known fields.
 */
import { accessDenied, badParameter } from '../errors.js';
import { findExtension, parseCertificate } from './certificate.js';
import type { ParsedCertificate } from './certificate.js';
import { octetString, oid, oidContent, sequence, utf8String } from './der.js';
import { readSingle } from './der-reader.js';
import { certificateDer } from './pem.js';
import { IDENTITY_OID } from './types.js';
import type { Identity, IdentityUsage } from './types.js';

const IDENTITY_OID_CONTENT = oidContent(IDENTITY_OID);
const IDENTITY_OID_DER = oid(IDENTITY_OID);

/** IDENTITY_USAGES lists every {@link IdentityUsage}. */
export const IDENTITY_USAGES: readonly IdentityUsage[] = ['user', 'admin', 'host', 'db', 'db_client', 'db_server'];

/**
 * identityExtension encodes identity as a complete (non-critical) Extension. Only the known fields
 * are written, so passing a VerifiedIdentity (which adds expires, serial…) re-issues cleanly.
 */
export function identityExtension(identity: Identity): Buffer {
  checkIdentity(identity);
  return sequence(IDENTITY_OID_DER, octetString(utf8String(JSON.stringify(cleanIdentity(identity)))));
}

/**
 * decodeIdentity reads the identity from a certificate (DER or PEM) WITHOUT verifying anything:
 * use it only on a certificate the TLS stack (or verifyCertificate) already checked. It returns
 * undefined when the certificate has no identity extension and throws accessDenied when the
 * extension is there but malformed.
 */
export function decodeIdentity(cert: Buffer | string): Identity | undefined {
  return identityOf(parseCertificate(certificateDer(cert)));
}

/** identityOf reads the identity of an already parsed certificate; see {@link decodeIdentity}. */
export function identityOf(parsed: ParsedCertificate): Identity | undefined {
  const ext = findExtension(parsed, IDENTITY_OID_CONTENT);
  if (!ext) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readSingle(ext.value, 0x0c).content.toString('utf8'));
  } catch (err) {
    throw accessDenied('certificate carries a malformed identity: not a JSON string', { cause: err });
  }
  const problem = identityProblem(json);
  if (problem) throw accessDenied(`certificate carries a malformed identity: ${problem}`);
  return cleanIdentity(json as Identity);
}

/** checkIdentity throws badParameter when identity does not have the {@link Identity} shape. */
export function checkIdentity(identity: unknown): asserts identity is Identity {
  const problem = identityProblem(identity);
  if (problem) throw badParameter(`invalid identity: ${problem}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isOptionalString = (v: unknown) => v === undefined || typeof v === 'string';

/** identityProblem names the first thing wrong with v's shape, or returns undefined if it is fine. */
function identityProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not an object';
  if (typeof v.user !== 'string' || v.user === '') return 'user must be a non-empty string';
  if (!isStringList(v.roles)) return 'roles must be a list of strings';
  if (!isObject(v.traits)) return 'traits must be an object';
  if (!isStringList(v.traits.db_users)) return 'traits.db_users must be a list of strings';
  if (!isStringList(v.traits.db_names)) return 'traits.db_names must be a list of strings';
  if (!IDENTITY_USAGES.includes(v.usage as IdentityUsage)) return `usage must be one of ${IDENTITY_USAGES.join(', ')}`;
  if (typeof v.cluster !== 'string' || v.cluster === '') return 'cluster must be a non-empty string';
  if (!isOptionalString(v.hostId)) return 'hostId must be a string';
  if (v.route !== undefined) {
    const r = v.route;
    if (!isObject(r) || typeof r.database !== 'string') return 'route.database must be a string';
    if (!isOptionalString(r.dbUser) || !isOptionalString(r.dbName)) return 'route.dbUser and route.dbName must be strings';
  }
  return undefined;
}

/** cleanIdentity copies only the known fields, so stray JSON keys never reach callers. */
function cleanIdentity(v: Identity): Identity {
  const out: Identity = {
    user: v.user,
    roles: [...v.roles],
    traits: { db_users: [...v.traits.db_users], db_names: [...v.traits.db_names] },
    usage: v.usage,
    cluster: v.cluster,
  };
  if (v.route !== undefined) {
    out.route = { database: v.route.database };
    if (v.route.dbUser !== undefined) out.route.dbUser = v.route.dbUser;
    if (v.route.dbName !== undefined) out.route.dbName = v.route.dbName;
  }
  if (v.hostId !== undefined) out.hostId = v.hostId;
  return out;
}

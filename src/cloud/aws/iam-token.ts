/**
 * cloud/aws/iam-token: the IAM authentication token ElastiCache and MemoryDB accept as the AUTH
 * password — a SigV4-presigned `GET http://<target>/?Action=connect&User=<user>` with the scheme
 * stripped (reference §4.1). Signed with @smithy/signature-v4, never by hand.
 *
 * `host` is signed explicitly: without it smithy signs `SignedHeaders=` empty, which AWS rejects.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';

/** IAM_TOKEN_TTL_SECONDS is how long a token is valid (AWS's maximum, as Teleport). */
export const IAM_TOKEN_TTL_SECONDS = 900;

/** IamTokenRequest says what to sign. */
export interface IamTokenRequest {
  /** `elasticache` (replication groups and serverless caches) or `memorydb`. */
  service: 'elasticache' | 'memorydb';
  region: string;
  /** Replication group id, serverless cache name or MemoryDB cluster name (lower-cased here). */
  target: string;
  user: string;
  serverless?: boolean;
  credentials: AwsCredentialIdentity;
  /** Seconds the token is valid (default 900). */
  expiresIn?: number;
  now?: Date;
}

/** iamAuthToken signs an IAM auth token. */
export async function iamAuthToken(r: IamTokenRequest): Promise<string> {
  const host = r.target.toLowerCase();
  const signer = new SignatureV4({ service: r.service, region: r.region, credentials: r.credentials, sha256: Hash.bind(null, 'sha256') });
  const query: Record<string, string> = { Action: 'connect', User: r.user };
  if (r.serverless) query.ResourceType = 'ServerlessCache';
  const signed = await signer.presign(
    { method: 'GET', protocol: 'http:', hostname: host, path: '/', query, headers: { host } },
    { expiresIn: r.expiresIn ?? IAM_TOKEN_TTL_SECONDS, ...(r.now ? { signingDate: r.now } : {}) },
  );
  const q = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(String(v))}`)
    .join('&');
  return `${host}/?${q}`;
}

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

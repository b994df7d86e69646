/**
 * client/identity-file: the single PEM file CI jobs use instead of a login (`xctl auth sign
 * --format=file`): the private key, the user certificate, then the cluster's CA certificates
 * (host CA first, so the proxy can be verified; then the user CA).
 */
import { readFile } from 'node:fs/promises';
import { badParameter, notFound } from '../errors.js';
import { parsePemBlocks, certificateInfo } from '../pki/index.js';

/** IdentityFile is a parsed identity file. */
export interface IdentityFile {
  keyPem: string;
  certPem: string;
  caPems: string[];
}

/** formatIdentityFile concatenates the parts in the documented order. */
export function formatIdentityFile(f: IdentityFile): string {
  return f.keyPem + f.certPem + f.caPems.join('');
}

/** parseIdentityFile splits an identity file; anything missing or malformed is a clear error. */
export function parseIdentityFile(text: string, path: string): IdentityFile {
  let blocks: ReturnType<typeof parsePemBlocks>;
  try {
    blocks = parsePemBlocks(text);
  } catch {
    blocks = [];
  }
  const key = blocks.find((b) => /PRIVATE KEY$/.test(b.type));
  const certs = blocks.filter((b) => b.type === 'CERTIFICATE');
  const hint = 'Issue a new one with: xctl auth sign --user=NAME --format=file --out=FILE';
  if (!key) throw badParameter(`identity file ${path} holds no private key`, { hint });
  if (certs.length < 2) throw badParameter(`identity file ${path} must hold a certificate and the cluster CA`, { hint });
  try {
    certificateInfo(certs[0]!.pem);
  } catch {
    throw badParameter(`identity file ${path} holds a corrupt certificate`, { hint });
  }
  return { keyPem: key.pem, certPem: certs[0]!.pem, caPems: certs.slice(1).map((c) => c.pem) };
}

/** readIdentityFile reads and parses an identity file. */
export async function readIdentityFile(path: string): Promise<IdentityFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw notFound(`identity file ${path} does not exist`);
    throw badParameter(`cannot read identity file ${path} (${code})`);
  }
  return parseIdentityFile(text, path);
}

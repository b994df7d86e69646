/**
 * pem: PEM blocks in and out. Identity files concatenate a private key, a certificate and CA
 * certificates, so parsing returns every block in order with its label.
 */
import { badParameter } from '../errors.js';

/** PemBlock is one `-----BEGIN <type>-----` block: its label, its DER bytes and its PEM text. */
export interface PemBlock {
  type: string;
  der: Buffer;
  pem: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * parsePemBlocks returns the PEM blocks of text in order. Text outside blocks is ignored (openssl
 * writes comments there); a block with mismatched labels or bad base64 is an error naming it.
 * RFC 1421 header lines (`Proc-Type: …`) are kept in `pem` but left out of `der`.
 */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [pem, type, body, endType] = m as unknown as [string, string, string, string];
    const n = blocks.length + 1;
    if (type !== endType) throw badParameter(`PEM block ${n} begins as "${type}" but ends as "${endType}"`);
    const payload = body
      .split(/\r?\n/)
      .filter((line) => !line.includes(':'))
      .join('')
      .replace(/\s+/g, '');
    if (!BASE64.test(payload) || payload.length % 4 !== 0) {
      throw badParameter(`PEM block ${n} ("${type}") does not hold valid base64`);
    }
    blocks.push({ type, der: Buffer.from(payload, 'base64'), pem: pem.endsWith('\n') ? pem : `${pem}\n` });
  }
  return blocks;
}

/** toPem encodes der as a PEM block with the given label and 64-character lines. */
export function toPem(type: string, der: Buffer): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join('\n')}${lines.length ? '\n' : ''}-----END ${type}-----\n`;
}

/**
 * certificateDer accepts a certificate as DER bytes, PEM text or PEM bytes and returns its DER.
 * With PEM it takes the first CERTIFICATE block, so a whole identity file may be passed.
 */
export function certificateDer(cert: Buffer | string): Buffer {
  if (Buffer.isBuffer(cert)) {
    // DER certificates start with a SEQUENCE tag; anything else is read as PEM text.
    if (cert[0] === 0x30) return cert;
    cert = cert.toString('utf8');
  }
  if (typeof cert !== 'string') throw badParameter('expected a certificate as DER bytes or PEM text');
  const block = parsePemBlocks(cert).find((b) => b.type === 'CERTIFICATE');
  if (!block) throw badParameter('no PEM certificate found (expected a "-----BEGIN CERTIFICATE-----" block)');
  return block.der;
}

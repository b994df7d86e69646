/**
 * keys: key pair generation and PEM key loading. ECDSA P-256 by default, RSA-2048 on request.
 * Keys are generated where they are used; only public keys travel to a CA.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { badParameter } from '../errors.js';
import { parsePemBlocks } from './pem.js';
import type { KeyAlgorithm, KeyPair } from './types.js';

/** generateKeyPair makes a fresh key pair; PEM forms are PKCS#8 (private) and SPKI (public). */
export function generateKeyPair(algorithm: KeyAlgorithm = 'ecdsa-p256'): KeyPair {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  switch (algorithm) {
    case 'ecdsa-p256':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      break;
    case 'rsa-2048':
      pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
      break;
    default:
      throw badParameter(`unknown key algorithm "${String(algorithm)}"`, { hint: 'Use ecdsa-p256 or rsa-2048.' });
  }
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/**
 * privateKeyFromPem loads the first private key in pem (PKCS#8, SEC1 or PKCS#1), so a whole
 * identity file may be passed. Garbage, a missing key or an encrypted key is a badParameter.
 * Messages never quote the input: it may be a secret.
 */
export function privateKeyFromPem(pem: string): KeyObject {
  const block = pemBlocksOrNothing(pem).find((b) => b.type.endsWith('PRIVATE KEY'));
  if (!block) throw badParameter('not a valid PEM private key (no "PRIVATE KEY" block found)');
  if (block.type === 'ENCRYPTED PRIVATE KEY' || block.pem.includes('Proc-Type: 4,ENCRYPTED')) {
    throw badParameter('the PEM private key is encrypted', { hint: 'Provide an unencrypted private key.' });
  }
  try {
    return createPrivateKey({ key: block.pem, format: 'pem' });
  } catch (err) {
    throw badParameter(`not a valid PEM private key (the "${block.type}" block does not decode)`, { cause: err });
  }
}

/**
 * publicKeyFromPem loads the first public key in pem (SPKI, or PKCS#1 for RSA). A private key is
 * refused rather than silently reduced to its public half, so a key file mix-up is caught early.
 */
export function publicKeyFromPem(pem: string): KeyObject {
  const blocks = pemBlocksOrNothing(pem);
  const block = blocks.find((b) => b.type.endsWith('PUBLIC KEY'));
  if (!block) {
    if (blocks.some((b) => b.type.endsWith('PRIVATE KEY'))) {
      throw badParameter('expected a PEM public key but found a private key', {
        hint: 'Send only the public key; private keys never leave the machine that made them.',
      });
    }
    throw badParameter('not a valid PEM public key (no "PUBLIC KEY" block found)');
  }
  try {
    return createPublicKey({ key: block.pem, format: 'pem' });
  } catch (err) {
    throw badParameter(`not a valid PEM public key (the "${block.type}" block does not decode)`, { cause: err });
  }
}

function pemBlocksOrNothing(pem: unknown) {
  if (typeof pem !== 'string') throw badParameter('expected PEM text');
  return parsePemBlocks(pem);
}

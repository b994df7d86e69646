/**
 * info: a read-only summary of a certificate for `xsh status`, `xctl auth sign` output and logs.
 * Nothing is verified here; see verify.ts.
 */
import { badParameter, isXError } from '../errors.js';
import { OIDS, findExtension, nameAttributes, parseCertificate, serialHex, subjectAltNames } from './certificate.js';
import { identityOf } from './identity.js';
import { certificateDer } from './pem.js';
import type { Identity } from './types.js';

/** CertificateInfo is what {@link certificateInfo} reports. `serial` is lowercase hex. */
export interface CertificateInfo {
  commonName: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  issuerCommonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  identity?: Identity;
}

/** certificateInfo summarizes a certificate given as DER or PEM (the first CERTIFICATE block). */
export function certificateInfo(cert: Buffer | string): CertificateInfo {
  const parsed = parseCertificate(certificateDer(cert));
  try {
    const san = findExtension(parsed, OIDS.subjectAltName);
    const { dnsNames, ipAddresses } = san ? subjectAltNames(san.value) : { dnsNames: [], ipAddresses: [] };
    const info: CertificateInfo = {
      commonName: nameAttributes(parsed.subject, OIDS.commonName).at(-1) ?? '',
      serial: serialHex(parsed.serial),
      notBefore: parsed.notBefore,
      notAfter: parsed.notAfter,
      issuerCommonName: nameAttributes(parsed.issuer, OIDS.commonName).at(-1) ?? '',
      dnsNames,
      ipAddresses,
    };
    const identity = identityOf(parsed);
    if (identity) info.identity = identity;
    return info;
  } catch (err) {
    if (isXError(err) && err.kind !== 'bad-parameter') throw err;
    throw badParameter('not a valid X.509 certificate (its names or extensions do not decode)', { cause: err });
  }
}

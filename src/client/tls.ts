/**
 * client/tls: dial the proxy's public port and decide whether to trust it.
 *
 * Trust, in order: the cluster's host CA saved at login (normal case); a `--ca-pin` (first
 * login: the pin is checked against the CA certificate the proxy sends with its chain, and the
 * leaf must be signed by that CA and name the host); `--insecure` (no checks, loudly); else the
 * system store. Must not import auth, store, service or cli.
 */
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { accessDenied, connectionProblem } from '../errors.js';
import { caPin } from '../pki/index.js';
import { parseHostPort } from '../util/net.js';

/** ProxyTrust says how to verify the proxy. */
export interface ProxyTrust {
  caPem?: string;
  caPin?: string;
  insecure?: boolean;
}

/** DialOptions configures {@link dialProxy}. */
export interface DialOptions extends ProxyTrust {
  addr: string;
  alpn: string;
  /** Client certificate and key (PEM) for authenticated routes. */
  certPem?: string;
  keyPem?: string;
  timeoutMs?: number;
  /**
   * A prepared context (CA + client certificate), for callers that dial many times with the same
   * credentials: building one from PEMs costs ~1.8 ms per connection (platform notes).
   */
  secureContext?: tls.SecureContext;
}

/** createDialContext prepares the TLS context {@link dialProxy} would build from these PEMs. */
export function createDialContext(o: { caPem?: string; certPem?: string; keyPem?: string }): tls.SecureContext {
  return tls.createSecureContext({
    ...(o.caPem ? { ca: o.caPem } : {}),
    ...(o.certPem && o.keyPem ? { cert: o.certPem, key: o.keyPem } : {}),
    minVersion: 'TLSv1.2',
  });
}

/** dialProxy opens a verified TLS connection to the proxy. */
export function dialProxy(opts: DialOptions): Promise<tls.TLSSocket> {
  const { host, port } = parseHostPort(opts.addr, 3080, 'proxy address');
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  const pinned = !opts.caPem && !!opts.caPin;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      ...(isIp ? {} : { servername: host }),
      ALPNProtocols: [opts.alpn],
      ...(opts.secureContext
        ? { secureContext: opts.secureContext }
        : {
            ...(opts.caPem ? { ca: opts.caPem } : {}),
            ...(opts.certPem && opts.keyPem ? { cert: opts.certPem, key: opts.keyPem } : {}),
          }),
      rejectUnauthorized: !(opts.insecure || pinned),
      minVersion: 'TLSv1.2',
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(connectionProblem(`timed out connecting to the proxy at ${opts.addr}`, { hint: 'Make sure the proxy is running and reachable.' }));
    }, opts.timeoutMs ?? 15_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      if (pinned) {
        try {
          checkPin(socket, host, opts.caPin!);
        } catch (err) {
          socket.destroy();
          reject(err);
          return;
        }
      }
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(convertDialError(err, opts.addr));
    });
  });
}

function checkPin(socket: tls.TLSSocket, host: string, want: string): void {
  const peer = socket.getPeerCertificate(true);
  if (!peer?.raw) throw accessDenied(`the proxy at ${host} sent no certificate`);
  const leaf = new X509Certificate(peer.raw);
  const issuer = peer.issuerCertificate && peer.issuerCertificate !== peer ? peer.issuerCertificate : undefined;
  if (!issuer?.raw) throw accessDenied('the proxy did not send its CA certificate, so its CA pin cannot be checked');
  const got = caPin(issuer.raw);
  if (got !== want) {
    throw accessDenied(`the proxy's CA pin ${got} does not match --ca-pin ${want}`, {
      hint: 'Check the pin with `xctl status` on the auth host; a mismatch can mean you are not talking to your proxy.',
    });
  }
  if (!leaf.verify(new X509Certificate(issuer.raw).publicKey)) {
    throw accessDenied("the proxy's certificate is not signed by the pinned CA");
  }
  const hostErr = tls.checkServerIdentity(host, peer);
  if (hostErr) throw accessDenied(`the proxy's certificate does not name ${host}: ${hostErr.message}`);
}

/** convertDialError turns socket and TLS errors into messages that say what to do. */
export function convertDialError(err: NodeJS.ErrnoException, addr: string): Error {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') {
    return connectionProblem(`cannot connect to the proxy at ${addr}: connection refused`, {
      hint: 'Make sure `xctl start` is running there and the address is right.',
    });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return connectionProblem(`cannot resolve the proxy address ${addr}`, { hint: 'Check the --proxy host name.' });
  }
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN' || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY') {
    return accessDenied(`the proxy at ${addr} presented a certificate that is not trusted (${code})`, {
      hint: 'Pass --ca-pin=sha256:… (shown by `xctl status`), or --insecure for a throwaway test cluster.',
    });
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return accessDenied(`the proxy's certificate does not name ${addr}`, { hint: 'Connect with the host name in proxy_service.public_addr.' });
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return accessDenied(`the proxy at ${addr} presented an expired certificate`);
  }
  if (/certificate/i.test(err.message) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return connectionProblem(`TLS with the proxy at ${addr} failed: ${err.message}`, {
      hint: 'Log in again (xsh login) if your certificate expired; otherwise check the proxy address.',
    });
  }
  return connectionProblem(`cannot connect to the proxy at ${addr}: ${err.message}`, { cause: err });
}

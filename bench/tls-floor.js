// bench/tls-floor: what one idle mutual-TLS connection costs a bare Node process, server side and
// client side (ECDSA P-256 certificates from xport's pki, TLS 1.3, one shared SecureContext per
// side, a full GC before each reading). It is the floor under xport's per-session memory: every
// session holds TLS connections (tunnel → proxy, agent → Redis), whatever xport's own code does.
// Usage: node --expose-gc bench/tls-floor.js [--json] [--count N]
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { CertificateAuthority, generateKeyPair } from '../dist/pki/index.js';

const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const fullGc = () => {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  globalThis.gc();
  globalThis.gc();
};

if (process.argv[2] === '--serve') {
  // Child: a TLS echo server that asks for client certificates.
  const cfg = JSON.parse(process.argv[3]);
  const server = tls.createServer({ key: cfg.key, cert: cfg.cert, ca: cfg.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (s) => {
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  // The parent is gone (killed, crashed): do not linger.
  process.on('disconnect', () => process.exit(0));
  process.on('message', () => {
    fullGc();
    process.send({ rss: rssKiB() });
  });
} else {
  const count = Number(process.argv[process.argv.indexOf('--count') + 1] || 0) || 1000;
  const ca = CertificateAuthority.create({ type: 'db', clusterName: 'bench' });
  const leaf = (cn, eku) => {
    const k = generateKeyPair('ecdsa-p256');
    const c = ca.issue({ publicKey: k.publicKey, commonName: cn, ipAddresses: ['127.0.0.1'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3600_000), extKeyUsage: [eku] });
    return { key: k.privateKeyPem, cert: c.certPem };
  };
  const srv = leaf('localhost', 'serverAuth');
  const cli = leaf('alice', 'clientAuth');
  const child = fork(fileURLToPath(import.meta.url), ['--serve', JSON.stringify({ ...srv, ca: ca.certPem })], { execArgv: ['--expose-gc'] });
  const next = () => new Promise((r) => child.once('message', r));
  try {
    const { port } = await next();
    const serverRss = async () => {
      const p = next();
      child.send('rss');
      return (await p).rss;
    };
    const ctx = tls.createSecureContext({ key: cli.key, cert: cli.cert, ca: ca.certPem });
    const s0 = await serverRss();
    fullGc();
    const c0 = rssKiB();
    const sockets = [];
    for (let i = 0; i < count; i++) {
      const s = tls.connect({ host: '127.0.0.1', port, secureContext: ctx, checkServerIdentity: () => undefined });
      await new Promise((resolve, reject) => {
        s.once('secureConnect', resolve);
        s.once('error', reject);
      });
      s.write('PING\r\n');
      await new Promise((r) => s.once('data', r));
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 500));
    fullGc();
    const c1 = rssKiB();
    const s1 = await serverRss();
    const result = { count, serverKiB: (s1 - s0) / count, clientKiB: (c1 - c0) / count, protocol: sockets[0].getProtocol() };
    for (const s of sockets) s.destroy();
    if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(result) + '\n');
    else console.log(`${result.protocol}, ${count} idle mTLS connections: server ${result.serverKiB.toFixed(1)} KiB each, client ${result.clientKiB.toFixed(1)} KiB each`);
  } finally {
    child.kill('SIGTERM');
  }
}

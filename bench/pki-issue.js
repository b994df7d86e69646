// bench/pki-issue: leaf certificates issued per second, in-process (CertificateAuthority.issue only;
// subject keys are generated before the clock starts). Target: ≥ 2,000 ECDSA P-256 leaves/s.
// Run: npx tsc -p tsconfig.json && node bench/pki-issue.js [seconds per case, default 2]
import { CertificateAuthority, generateKeyPair } from '../dist/pki/index.js';

const seconds = Number(process.argv[2] ?? 2);
const identity = {
  user: 'alice@example.com',
  roles: ['access', 'redis-dev'],
  traits: { db_users: ['alice', 'readonly'], db_names: ['0'] },
  usage: 'user',
  cluster: 'example',
  route: { database: 'cache-prod', dbUser: 'alice' },
};

function bench(caAlgorithm, leafAlgorithm, keyCount, asPem = false) {
  const ca = CertificateAuthority.create({ type: 'user', clusterName: 'example', algorithm: caAlgorithm });
  const keys = Array.from({ length: keyCount }, () => {
    const pair = generateKeyPair(leafAlgorithm);
    return asPem ? pair.publicKeyPem : pair.publicKey;
  });
  const request = (i) => {
    const now = new Date();
    return {
      publicKey: keys[i % keys.length],
      commonName: identity.user,
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + 12 * 3600_000),
      extKeyUsage: ['clientAuth'],
      identity,
    };
  };
  for (let i = 0; i < 200; i++) ca.issue(request(i)); // warm up the JIT
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < deadline) {
    for (let j = 0; j < 50; j++) ca.issue(request(n++));
    now = process.hrtime.bigint();
  }
  const elapsed = Number(now - start) / 1e9;
  const rate = n / elapsed;
  console.log(
    `${caAlgorithm.padEnd(10)} CA → ${leafAlgorithm.padEnd(10)} leaf${asPem ? ' (key as PEM)  ' : ' (KeyObject)   '}: ${Math.round(rate).toLocaleString('en-US').padStart(7)} certs/s` +
      `  (${n} certs in ${elapsed.toFixed(2)} s, ${(1e6 / rate).toFixed(1)} µs each)`,
  );
}

console.log(`node ${process.version}, ${seconds} s per case, issue() only (key generation excluded)`);
bench('ecdsa-p256', 'ecdsa-p256', 1000);
bench('ecdsa-p256', 'rsa-2048', 4);
bench('rsa-2048', 'ecdsa-p256', 1000);
bench('rsa-2048', 'rsa-2048', 4);
// The login path receives the key as SPKI PEM: parsing it (OpenSSL 3 decoder) adds ~190 µs.
bench('ecdsa-p256', 'ecdsa-p256', 1000, true);

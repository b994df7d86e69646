// bench/cert-rate: certificates issued per second by xport's issuing function in-process
// (CertificateAuthority.issue from dist/pki, ECDSA P-256 CA and leaves). Subject keys are
// generated before the clock starts, so key generation is excluded, as the target says.
// run.js starts this in a fresh Node process so the orchestrator's heap does not disturb it.
// Usage: node bench/cert-rate.js [--seconds S] [--reps R] [--json]
import { CertificateAuthority, generateKeyPair } from '../dist/pki/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const seconds = Number(arg('--seconds', '1'));
const reps = Number(arg('--reps', '5'));
const json = process.argv.includes('--json');

// A realistic user identity: what `xsh login` and `xsh db login` put into a certificate.
const identity = {
  user: 'alice',
  roles: ['access', 'bench-dev'],
  traits: { db_users: ['alice'], db_names: ['0'] },
  usage: 'user',
  cluster: 'bench',
  route: { database: 'cache', dbUser: 'alice' },
};

/** rate issues leaves for `seconds` and returns certificates per second. */
function rate(ca, keys) {
  let n = 0;
  const request = () => {
    const now = Date.now();
    return {
      publicKey: keys[n % keys.length],
      commonName: identity.user,
      organization: identity.roles,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 12 * 3600_000),
      extKeyUsage: ['clientAuth'],
      identity,
    };
  };
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let t = start;
  while (t < deadline) {
    for (let j = 0; j < 50; j++) {
      ca.issue(request());
      n++;
    }
    t = process.hrtime.bigint();
  }
  return n / (Number(t - start) / 1e9);
}

const ca = CertificateAuthority.create({ type: 'user', clusterName: 'bench', algorithm: 'ecdsa-p256' });
const keyObjects = Array.from({ length: 500 }, () => generateKeyPair('ecdsa-p256').publicKey);
// The login endpoint receives the subject key as SPKI PEM, which issue() must parse each time.
const keyPems = Array.from({ length: 500 }, () => generateKeyPair('ecdsa-p256').publicKeyPem);
// Warm up both paths for about a second so the JIT has settled before anything is timed.
const warmUntil = Date.now() + 1000;
while (Date.now() < warmUntil) for (const keys of [keyObjects, keyPems]) for (let i = 0; i < 50; i++) ca.issue({ publicKey: keys[i], commonName: 'warm', notBefore: new Date(), notAfter: new Date(Date.now() + 3600_000), extKeyUsage: ['clientAuth'], identity });

const result = { keyObject: [], pem: [] };
for (let r = 0; r < reps; r++) {
  result.keyObject.push(rate(ca, keyObjects));
  result.pem.push(rate(ca, keyPems));
}
if (json) process.stdout.write(JSON.stringify(result) + '\n');
else {
  for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(10)} ${v.map((x) => Math.round(x)).join(', ')} certs/s`);
}

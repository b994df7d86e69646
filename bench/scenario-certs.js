// bench/scenario-certs: how fast xport hands out certificates.
//
//   in-process   CertificateAuthority.issue (dist/pki), ECDSA P-256, key generation excluded —
//                in a fresh Node process (bench/cert-rate.js)
//   login        POST /v1/webapi/login over HTTPS (ApiClient, verified with the saved host CA):
//                round trip one at a time, and logins/s with many in flight. Login runs scrypt by
//                design, so scrypt's cost (verifyPassword from dist/auth, same parameters) is
//                measured here too and reported separately; "login minus scrypt" is the target.
//   db cert      POST /v1/certs/db with alice's certificate — the same HTTPS + issue path with no
//                password, i.e. a direct measurement of a round trip without scrypt
//   auth sign    `xctl auth sign --format=file` wall time (hyperfine)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../dist/client/api.js';
import { generateKeyPair } from '../dist/pki/index.js';
import { hashPassword, verifyPassword } from '../dist/auth/passwords.js';
import { ALICE_PASSWORD } from './fixture.js';
import { summary, round } from './stats.js';
import { runHyperfine } from './scenario-startup.js';

/** runCertRate measures in-process issuance in a child Node process. */
export async function runCertRate({ group, root, quick, log }) {
  const reps = quick ? 3 : 5;
  const seconds = quick ? 0.4 : 1;
  const r = await group.run(process.execPath, [join(root, 'bench', 'cert-rate.js'), '--seconds', String(seconds), '--reps', String(reps), '--json'], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`cert-rate.js failed: ${r.stderr}`);
  const { keyObject, pem } = JSON.parse(r.stdout);
  const a = summary(keyObject);
  const b = summary(pem);
  log(`certs: in-process ${Math.round(a.median)}/s (KeyObject), ${Math.round(b.median)}/s (PEM key)`);
  return {
    rows: [
      {
        id: 'certs.issue.in-process',
        scenario: 'Certificates issued in-process (CertificateAuthority.issue, ECDSA P-256, key generation excluded)',
        unit: 'certs/s',
        ...a,
        target: { text: '≥ 2,000/s', value: `${Math.round(a.median).toLocaleString('en-US')}/s`, met: a.median >= 2000 },
      },
      {
        id: 'certs.issue.in-process-pem',
        scenario: 'Certificates issued in-process, subject key given as SPKI PEM (what the login endpoint receives)',
        unit: 'certs/s',
        ...b,
        baseline: { id: 'certs.issue.in-process', label: 'KeyObject', ratio: b.median / a.median },
      },
    ],
    raw: { keyObject, pem },
  };
}

/** timed runs fn and returns its duration in ms. */
async function timed(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** concurrently runs total calls of fn with `width` in flight; returns calls per second. */
async function concurrently(total, width, fn) {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < total) {
        next++;
        await fn();
      }
    }),
  );
  return total / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** runCertsOverHttps measures login, scrypt, db-cert round trips and `xctl auth sign`. */
export async function runCertsOverHttps({ group, fx, quick, log }) {
  const keysDir = join(fx.work, 'xsh', 'keys', '127.0.0.1');
  const caPem = readFileSync(join(keysDir, 'certs.pem'), 'utf8');
  const anon = new ApiClient({ addr: fx.proxyAddr, caPem });
  const userApi = new ApiClient({
    addr: fx.proxyAddr,
    caPem,
    credentials: { certPem: readFileSync(join(keysDir, 'alice.crt'), 'utf8'), keyPem: readFileSync(join(keysDir, 'alice.key'), 'utf8') },
  });
  const sequential = quick ? 8 : 25;
  const total = quick ? 16 : 64;
  const width = 16;
  // Subject keys are made before any clock starts: xsh generates its key before it calls login.
  const keys = Array.from({ length: sequential + total + 4 }, () => generateKeyPair('ecdsa-p256').publicKeyPem);
  let k = 0;
  const login = () => anon.request('POST', '/v1/webapi/login', { user: 'alice', password: ALICE_PASSWORD, public_key: keys[k++ % keys.length] });
  const dbCert = () => userApi.request('POST', '/v1/certs/db', { database: 'cache', db_user: 'alice', public_key: keys[k++ % keys.length] });

  await login(); // warm-up (JIT on both sides)
  await dbCert();
  // Login and scrypt alternate, so each login pairs with a scrypt timed under the same load:
  // scrypt as login runs it is verifyPassword against a stored hash with the production parameters.
  const stored = await hashPassword(ALICE_PASSWORD);
  const loginMs = [];
  const scryptMs = [];
  for (let i = 0; i < sequential; i++) {
    loginMs.push(await timed(login));
    scryptMs.push(await timed(() => verifyPassword(ALICE_PASSWORD, stored)));
  }
  const withoutMs = loginMs.map((ms, i) => ms - scryptMs[i]);
  const dbMs = [];
  for (let i = 0; i < sequential; i++) dbMs.push(await timed(dbCert));

  const loginRates = [];
  const dbRates = [];
  for (let rep = 0; rep < (quick ? 1 : 3); rep++) {
    loginRates.push(await concurrently(total, width, login));
    dbRates.push(await concurrently(total * 4, width, dbCert));
  }

  const l = summary(loginMs);
  const s = summary(scryptMs);
  const d = summary(dbMs);
  const w = summary(withoutMs);
  const without = w.median;
  log(`certs: login RTT ${l.median.toFixed(1)} ms, scrypt ${s.median.toFixed(1)} ms, db cert RTT ${d.median.toFixed(1)} ms`);

  log('certs: xctl auth sign --format=file (hyperfine) …');
  const out = join(fx.work, 'ci.pem');
  const hf = await runHyperfine(group, fx, [[process.execPath, fx.bin('xctl'), '--data-dir', fx.dataDir, 'auth', 'sign', '--user=alice', '--format=file', `--out=${out}`, '--overwrite', '--ttl=1h']], {
    runs: quick ? 5 : 15,
    warmup: 2,
  });
  const sign = hf[0];

  const rows = [
    {
      id: 'certs.login.rtt',
      scenario: 'Login round trip over HTTPS (POST /v1/webapi/login, one at a time, includes scrypt)',
      unit: 'ms',
      lowerIsBetter: true,
      ...l,
      note: `${sequential} logins`,
    },
    {
      id: 'certs.login.scrypt',
      scenario: 'scrypt password verification alone (N=2^15, r=8, p=1, as login runs it)',
      unit: 'ms',
      lowerIsBetter: true,
      ...s,
      baseline: { id: 'certs.login.rtt', label: 'login RTT', ratio: s.median / l.median },
    },
    {
      id: 'certs.login.rtt-without-scrypt',
      scenario: 'Login round trip minus scrypt (each login paired with the scrypt timed right after it)',
      unit: 'ms',
      lowerIsBetter: true,
      ...w,
      target: { text: '≤ 20 ms median', value: `${without.toFixed(1)} ms`, met: without <= 20 },
      note: `direct check without a password: db cert RTT ${d.median.toFixed(1)} ms; a pair can come out negative when its scrypt ran slower than the login's`,
    },
    {
      id: 'certs.dbcert.rtt',
      scenario: 'Routed database certificate over HTTPS (POST /v1/certs/db, one at a time, no scrypt)',
      unit: 'ms',
      lowerIsBetter: true,
      ...d,
    },
    {
      id: 'certs.login.concurrent',
      scenario: `Logins per second, ${width} in flight (scrypt-bound by design)`,
      unit: 'logins/s',
      ...summary(loginRates),
      note: `${total} logins per round; scrypt alone allows ~${(1000 / s.median).toFixed(0)}/s per core`,
    },
    {
      id: 'certs.dbcert.concurrent',
      scenario: `Routed database certificates per second over HTTPS, ${width} in flight`,
      unit: 'certs/s',
      ...summary(dbRates),
    },
    {
      id: 'certs.auth-sign-file',
      scenario: '`xctl auth sign --format=file` wall time (hyperfine)',
      unit: 'ms',
      lowerIsBetter: true,
      median: sign.median * 1000,
      min: sign.min * 1000,
      max: sign.max * 1000,
      runs: sign.times.map((t) => round(t * 1000, 2)),
      ...(sign.failures > 0 ? { note: `${sign.failures} of ${sign.times.length} runs exited non-zero` } : {}),
    },
  ];
  return { rows, raw: { loginMs, scryptMs, withoutMs, dbMs, loginRates, dbRates, authSign: sign } };
}

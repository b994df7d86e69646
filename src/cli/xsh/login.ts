/**
 * cli/xsh/login: `xsh login` — complete an invite if given, then trade a password (and one-time
 * code) for a certificate over a key pair generated here. The private key never leaves this machine.
 */
import { generateKeyPair } from '../../pki/index.js';
import { usage, accessDenied } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import { ApiClient, type CertResponse } from '../../client/api.js';
import { ProfileStore, profileName } from '../../client/profile.js';
import type { CliContext } from '../shared/context.js';
import { LineReader, promptSecret } from '../shared/prompt.js';
import type { XshGlobals } from './globals.js';
import { printStatus } from './status.js';
import { checkPasswordPolicy } from '../../auth/passwords.js';

/** LoginOptions are `xsh login`'s parsed flags. */
export interface LoginOptions extends XshGlobals {
  invite?: string;
  passwordStdin?: boolean;
  otp?: string;
  ttl?: string;
  caPin?: string;
  keyStorage?: 'auto' | 'keychain' | 'file';
}

/** runLogin logs in and prints the status block. */
export async function runLogin(ctx: CliContext, o: LoginOptions): Promise<void> {
  const store = new ProfileStore(ctx.home);
  const current = await store.current().catch(() => undefined);
  const proxy = o.proxy ?? ctx.env.XSH_PROXY ?? current?.webProxyAddr;
  if (!proxy) throw usage('--proxy is required', { hint: 'Example: xsh login --proxy=xport.example.com:3080 --user=alice' });
  const user = o.user ?? ctx.env.XSH_USER ?? (current && current.webProxyAddr === proxy ? current.user : undefined);
  if (!user && !o.invite) throw usage('--user is required', { hint: `Example: xsh login --proxy=${proxy} --user=alice` });
  if (o.caPin && !/^sha256:[0-9a-f]{64}$/.test(o.caPin)) throw usage(`--ca-pin must look like sha256:<64 hex digits>, got "${o.caPin}"`);
  const ttlMs = o.ttl ? parseDuration(o.ttl, '--ttl', 'm') : undefined;

  // Trust: a saved host CA for this proxy, else the pin, else --insecure, else the system store.
  const saved = await store.read(profileName(proxy)).catch(() => undefined);
  const savedCreds = saved && !o.caPin ? await store.credentials(saved).catch(() => undefined) : undefined;
  // After `xsh logout` the profile is gone but the cluster CA is remembered (unless --forget-ca).
  const knownCaPem = savedCreds?.hostCaPem ?? (o.caPin || o.insecure ? undefined : await store.knownCa(profileName(proxy)));
  if (o.insecure) ctx.io.stderr.write('WARNING: --insecure: the proxy certificate is NOT verified; anyone on the path can read your password.\n');
  const api = new ApiClient({
    addr: proxy,
    ...(knownCaPem ? { caPem: knownCaPem } : {}),
    ...(o.caPin ? { caPin: o.caPin } : {}),
    ...(o.insecure ? { insecure: true } : {}),
  });
  const ping = await api.ping();

  const reader = new LineReader(ctx);
  try {
    const readPassword = async (question: string): Promise<string> => {
      if (o.passwordStdin) {
        const l = await reader.next();
        if (l === undefined || l === '') throw usage('--password-stdin: standard input held no password');
        return l;
      }
      return promptSecret(ctx, question);
    };
    const readOtp = async (): Promise<string> => {
      if (o.otp) return o.otp;
      if (o.passwordStdin) {
        ctx.io.stderr.write('Enter the 6-digit code from your authenticator app:\n');
        const l = await reader.next();
        if (!l) throw usage('a one-time code is required', { hint: 'Pass --otp=CODE, or give it on the line after the password.' });
        return l.trim();
      }
      return promptSecret(ctx, 'Enter the 6-digit code from your authenticator app: ');
    };

    const kp = generateKeyPair('ecdsa-p256');
    let cert: CertResponse;
    if (o.invite) {
      const tok = await api.request<{ user: string; kind: string; second_factor: string; otp_uri?: string }>(
        'GET',
        `/v1/webapi/usertokens/${encodeURIComponent(o.invite)}`,
      );
      if (user && tok.user !== user) throw accessDenied(`this ${tok.kind} token belongs to another user`);
      ctx.io.stderr.write(`Setting the password for "${tok.user}".\n`);
      const password = await readPassword('Password: ');
      // Said before the confirmation prompt, not after both: the auth service enforces the same rule.
      checkPasswordPolicy(password);
      if (!o.passwordStdin) {
        const again = await promptSecret(ctx, 'Confirm password: ');
        if (again !== password) throw usage('the passwords do not match');
      }
      let otp: string | undefined;
      if (tok.otp_uri) {
        ctx.io.stderr.write(`Add this account to your authenticator app (it is shown once):\n${tok.otp_uri}\n`);
        otp = await readOtp();
      }
      cert = await api.request<CertResponse>('POST', `/v1/webapi/usertokens/${encodeURIComponent(o.invite)}`, {
        password,
        ...(otp ? { otp } : {}),
        public_key: kp.publicKeyPem,
        ...(ttlMs ? { ttl_ms: ttlMs } : {}),
      });
    } else {
      const password = await readPassword(`Enter password for xport user ${user}: `);
      const otp = ping.second_factor === 'otp' ? await readOtp() : undefined;
      cert = await api.request<CertResponse>('POST', '/v1/webapi/login', {
        user,
        password,
        ...(otp ? { otp } : {}),
        public_key: kp.publicKeyPem,
        ...(ttlMs ? { ttl_ms: ttlMs } : {}),
      });
    }
    const useKeychain = o.keyStorage === 'keychain' || (o.keyStorage !== 'file' && ctx.env.XSH_KEY_STORAGE !== 'file');
    await store.save(
      {
        webProxyAddr: proxy,
        user: cert.user,
        cluster: cert.cluster_name,
        ...(o.caPin ? { caPin: o.caPin } : {}),
        ...(o.insecure ? { insecure: true } : {}),
      },
      { keyPem: kp.privateKeyPem, certPem: cert.cert, hostCaPem: cert.host_ca },
      { useKeychain },
    );
  } finally {
    reader.close();
  }
  await printStatus(ctx, { ...o, proxy }, 'text');
}

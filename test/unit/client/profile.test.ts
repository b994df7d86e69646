import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProfileStore, profileName } from '../../../src/client/profile.js';
import { parseIdentityFile, formatIdentityFile } from '../../../src/client/identity-file.js';
import { CertificateAuthority, generateKeyPair } from '../../../src/pki/index.js';

const home = () => mkdtemp(join(tmpdir(), 'xsh-profile-'));

describe('xsh profile store', () => {
  it('names profiles by proxy host, like tsh', () => {
    expect(profileName('xport.example.com:3080')).toBe('xport.example.com');
    expect(profileName('[::1]:3080')).toBe('__1');
  });

  it('saves a profile with a 0600 key in a 0700 directory and makes it current', async () => {
    const h = await home();
    const store = new ProfileStore(h);
    const p = await store.save({ webProxyAddr: 'localhost:3080', user: 'alice', cluster: 'c1' }, { keyPem: 'KEY', certPem: 'CERT', hostCaPem: 'CA' }, { useKeychain: false });
    expect(p.keyStorage).toBe('file');
    const paths = store.paths('localhost', 'alice');
    expect((await stat(paths.key)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
    expect(await store.current()).toEqual({ webProxyAddr: 'localhost:3080', user: 'alice', cluster: 'c1', keyStorage: 'file' });
    expect(await store.credentials(p)).toMatchObject({ keyPem: 'KEY', certPem: 'CERT', hostCaPem: 'CA' });
    expect(await store.list()).toEqual(['localhost']);
    await store.remove('localhost');
    expect(await store.current()).toBeUndefined();
    await expect(stat(paths.key)).rejects.toThrow();
  });

  it('reports a corrupt profile with the fix', async () => {
    const h = await home();
    await writeFile(join(h, 'current-profile'), 'broken\n');
    await writeFile(join(h, 'broken.yaml'), 'web_proxy_addr: [unclosed\n');
    await expect(new ProfileStore(h).current()).rejects.toThrow(/profile .*broken\.yaml is corrupt/);
  });
});

describe('identity files', () => {
  it('round-trips key, certificate and CAs, and rejects incomplete files', () => {
    const ca = CertificateAuthority.create({ type: 'user', clusterName: 'c1' });
    const host = CertificateAuthority.create({ type: 'host', clusterName: 'c1' });
    const kp = generateKeyPair();
    const now = new Date();
    const cert = ca.issue({
      publicKey: kp.publicKeyPem,
      commonName: 'ci',
      notBefore: now,
      notAfter: new Date(now.getTime() + 60_000),
      extKeyUsage: ['clientAuth'],
      identity: { user: 'ci', roles: ['access'], traits: { db_users: [], db_names: [] }, usage: 'user', cluster: 'c1' },
    });
    const text = formatIdentityFile({ keyPem: kp.privateKeyPem, certPem: cert.certPem, caPems: [host.certPem, ca.certPem] });
    const f = parseIdentityFile(text, 'id.pem');
    expect(f.certPem).toBe(cert.certPem);
    expect(f.caPems).toEqual([host.certPem, ca.certPem]);
    expect(() => parseIdentityFile(cert.certPem + host.certPem, 'id.pem')).toThrow('identity file id.pem holds no private key');
    expect(() => parseIdentityFile(kp.privateKeyPem + cert.certPem, 'id.pem')).toThrow('must hold a certificate and the cluster CA');
    expect(() => parseIdentityFile('garbage', 'id.pem')).toThrow('holds no private key');
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULT_PROXY_LIMITS, parseConfig, withDefaults } from '../../../src/service/config.js';

describe('service config', () => {
  it('fills the embedded all-in-one defaults', () => {
    const c = withDefaults({ version: 'v1' });
    expect(c).toMatchObject({
      clusterName: 'xport',
      auth: { enabled: true, secondFactor: 'off', caKeyAlgorithm: 'ecdsa-p256', sessionTtlMs: 12 * 3_600_000 },
      proxy: { enabled: true, listenAddr: '0.0.0.0:3080', publicAddr: 'localhost:3080' },
      audit: { redisValues: 'redact', fsyncIntervalMs: 1000 },
    });
  });

  it('reads the audit log settings: fsync interval (capped at a minute) and rotation size', () => {
    expect(parseConfig('version: v1\naudit:\n  fsync_interval: 200ms\n  max_file_size: 1048576\n').audit).toEqual({
      redisValues: 'redact',
      fsyncIntervalMs: 200,
      maxFileBytes: 1048576,
    });
    expect(parseConfig('version: v1\naudit:\n  fsync_interval: 2h\n').audit.fsyncIntervalMs).toBe(60_000);
    expect(() => parseConfig('version: v1\naudit:\n  fsync_interval: often\n')).toThrow(/audit\.fsync_interval: must be a duration/);
    expect(() => parseConfig('version: v1\naudit:\n  max_file_size: 10\n')).toThrow(/audit\.max_file_size/);
  });

  it('reads every documented key', () => {
    const c = parseConfig(
      [
        'version: v1',
        'cluster_name: example',
        'data_dir: /var/lib/xport',
        'log: { severity: debug }',
        'auth_service: { enabled: true, storage: { type: sqlite }, second_factor: otp, ca_key_algorithm: rsa-2048, session_ttl: 8h }',
        'proxy_service: { enabled: true, listen_addr: 0.0.0.0:3080, public_addr: xport.example.com:443 }',
        'db_service:',
        '  enabled: true',
        '  databases:',
        '    - name: example-redis',
        '      protocol: redis',
        '      uri: rediss://redis.example.com:6379?mode=cluster',
        '      static_labels: { env: dev }',
        '      tls: { mode: verify-full, ca_cert_file: /path/ca.pem }',
      ].join('\n'),
    );
    expect(c.clusterName).toBe('example');
    expect(c.clusterNameSet).toBe(true);
    expect(c.auth).toMatchObject({ secondFactor: 'otp', caKeyAlgorithm: 'rsa-2048', sessionTtlMs: 8 * 3_600_000 });
    expect(c.proxy.publicAddr).toBe('xport.example.com:443');
    expect(c.db.databases[0]).toMatchObject({ name: 'example-redis', static_labels: { env: 'dev' }, tls: { mode: 'verify-full' } });
  });

  it('reads db_service.health_check_interval, with a floor of one second, and leaves the default to the checker', () => {
    expect(parseConfig('version: v1\ndb_service:\n  health_check_interval: 2s\n').db.healthCheckIntervalMs).toBe(2000);
    expect(parseConfig('version: v1\ndb_service:\n  health_check_interval: 10ms\n').db.healthCheckIntervalMs).toBe(1000);
    expect(parseConfig('version: v1\n').db.healthCheckIntervalMs).toBeUndefined();
    expect(() => parseConfig('version: v1\ndb_service:\n  health_check_interval: soon\n')).toThrow(/db_service\.health_check_interval: must be a duration/);
  });

  it('tells a default cluster name from a configured one (a remote agent takes it from the join)', () => {
    expect(withDefaults({ version: 'v1' })).toMatchObject({ clusterName: 'xport', clusterNameSet: false });
  });

  it('reads proxy_service.limits and fills the defaults for keys left out', () => {
    const c = parseConfig(
      [
        'version: v1',
        'proxy_service:',
        '  limits:',
        '    handshake_timeout: 500ms',
        '    idle_timeout: 2s',
        '    header_timeout: 3s',
        '    body_timeout: 1m',
        '    max_anonymous_connections: 100',
        '    max_anonymous_connections_per_source: 10',
      ].join('\n'),
    );
    expect(c.proxy.limits).toEqual({
      handshakeTimeoutMs: 500,
      idleTimeoutMs: 2_000,
      headersTimeoutMs: 3_000,
      bodyTimeoutMs: 60_000,
      keepAliveTimeoutMs: DEFAULT_PROXY_LIMITS.keepAliveTimeoutMs,
      maxAnonymousConnections: 100,
      maxAnonymousPerSource: 10,
    });
    expect(withDefaults({ version: 'v1' }).proxy.limits).toEqual(DEFAULT_PROXY_LIMITS);
  });

  it('refuses a bad or unknown proxy_service.limits key, naming it', () => {
    expect(() => parseConfig('version: v1\nproxy_service:\n  limits:\n    handshake_timeout: soon\n')).toThrow(
      /proxy_service\.limits\.handshake_timeout: must be a duration/,
    );
    expect(() => parseConfig('version: v1\nproxy_service:\n  limits:\n    max_anonymous_connections: 0\n')).toThrow(/max_anonymous_connections/);
    expect(() => parseConfig('version: v1\nproxy_service:\n  limits:\n    header_timeout_ms: 5\n')).toThrow(/proxy_service\.limits\.header_timeout_ms: unknown key/);
  });

  it('reads the input budgets of db_service.limits and refuses ones too small to hold a header line', () => {
    const c = parseConfig(['version: v1', 'db_service:', '  limits: { session_buffer_bytes: 1048576, process_buffer_bytes: 67108864, max_request_bytes: 2097152 }'].join('\n'));
    expect(c.db.limits).toEqual({ sessionBufferBytes: 1048576, processBufferBytes: 67108864, maxBufferedBytes: 2097152 });
    expect(() => parseConfig(['version: v1', 'db_service:', '  limits: { session_buffer_bytes: 1024 }'].join('\n'))).toThrow(/session_buffer_bytes/);
  });

  it('reads db_service.connect_timeout, leaves the engine default without it, and refuses a bad one', () => {
    expect(parseConfig('version: v1\ndb_service:\n  connect_timeout: 2s\n').db.connectTimeoutMs).toBe(2000);
    expect(parseConfig('version: v1\n').db.connectTimeoutMs).toBeUndefined();
    expect(() => parseConfig('version: v1\ndb_service:\n  connect_timeout: soon\n', 'x.yaml')).toThrow(/x\.yaml:3: db_service\.connect_timeout: must be a duration/);
  });

  it('names the line and path of an unknown key', () => {
    expect(() => parseConfig('version: v1\nproxy_service:\n  listen_adr: 1.2.3.4:5\n', 'x.yaml')).toThrow('x.yaml:3: proxy_service.listen_adr: unknown key');
    expect(() => parseConfig('version: v1\nbogus: 1\n', 'x.yaml')).toThrow('x.yaml:2: bogus: unknown key');
  });

  it('names the line of a bad value', () => {
    expect(() => parseConfig('version: v1\nproxy_service:\n  listen_addr: nowhere:port\n', 'x.yaml')).toThrow(/x\.yaml:3: proxy_service\.listen_addr: must be host:port/);
    expect(() => parseConfig('version: v1\nauth_service:\n  second_factor: sms\n', 'x.yaml')).toThrow(/x\.yaml:3: auth_service\.second_factor/);
    expect(() => parseConfig('version: v2\n', 'x.yaml')).toThrow(/x\.yaml:1: version/);
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(() => parseConfig('version: v1\nproxy_service: [\n', 'x.yaml')).toThrow(/^x\.yaml:\d+:\d+: /);
  });

  it('keeps the cluster in the data dir\'s SQLite file unless storage says postgres', () => {
    expect(withDefaults({ version: 'v1' }).auth.storage).toEqual({ type: 'sqlite' });
    expect(parseConfig('version: v1\nauth_service: { storage: { type: sqlite } }\n').auth.storage).toEqual({ type: 'sqlite' });
  });

  it('reads a postgres storage with TLS files, resolving relative paths', () => {
    const c = parseConfig(
      [
        'version: v1',
        'auth_service:',
        '  storage:',
        '    type: postgres',
        '    conn_string: postgres://xport@db.example.com:5432/xport',
        '    ca_file: /etc/xport/pg-ca.pem',
        '    cert_file: certs/client.pem',
        '    key_file: certs/client.key',
      ].join('\n'),
    );
    expect(c.auth.storage).toEqual({
      type: 'postgres',
      connString: 'postgres://xport@db.example.com:5432/xport',
      caFile: '/etc/xport/pg-ca.pem',
      certFile: `${process.cwd()}/certs/client.pem`,
      keyFile: `${process.cwd()}/certs/client.key`,
    });
  });

  it('names the line of a postgres storage without a usable conn_string, or with a stray key', () => {
    expect(() => parseConfig('version: v1\nauth_service:\n  storage:\n    type: postgres\n    conn_string: mysql://x\n', 'x.yaml')).toThrow(
      /x\.yaml:5: auth_service\.storage\.conn_string: must be a postgres:\/\/ URL/,
    );
    expect(() => parseConfig('version: v1\nauth_service:\n  storage:\n    type: postgres\n', 'x.yaml')).toThrow(/auth_service\.storage\.conn_string/);
    expect(() => parseConfig('version: v1\nauth_service:\n  storage: { type: sqlite, conn_string: postgres://x/y }\n', 'x.yaml')).toThrow(/conn_string: unknown key/);
    expect(() => parseConfig('version: v1\nauth_service:\n  storage: { type: etcd }\n', 'x.yaml')).toThrow(/x\.yaml:3: auth_service\.storage/);
  });

  it('refuses a remote-only agent config without token and proxy', () => {
    expect(() => parseConfig('version: v1\nauth_service: { enabled: false }\ndb_service: { enabled: true }\n', 'a.yaml')).toThrow(/needs auth_token and proxy_server/);
  });
});

import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isConnectionError, pgError, postgresClientConfig, redactConnString } from '../../../src/store/postgres.js';
import { isXError } from '../../../src/errors.js';

describe('postgres connection settings', () => {
  it('hides the password of a connection string, in the URL or as a parameter', () => {
    expect(redactConnString('postgres://xport:s3cret@db:5432/x')).toBe('postgres://xport:***@db:5432/x');
    expect(redactConnString('postgresql://db/x?user=u&password=s3cret&sslmode=require')).toBe('postgresql://db/x?user=u&password=***&sslmode=require');
    expect(redactConnString('postgres://xport@db/x')).toBe('postgres://xport@db/x');
  });

  it('uses verify-full with the CA file and drops the string\'s own ssl settings, which would override it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xport-pgcfg-'));
    await writeFile(join(dir, 'ca.pem'), 'CA PEM');
    await writeFile(join(dir, 'c.pem'), 'CERT PEM');
    await writeFile(join(dir, 'c.key'), 'KEY PEM');
    const c = await postgresClientConfig({
      connString: 'postgres://xport@db.internal:5432/xport?sslmode=disable&sslrootcert=/x&application_name=a',
      caFile: join(dir, 'ca.pem'),
      certFile: join(dir, 'c.pem'),
      keyFile: join(dir, 'c.key'),
    });
    expect(c.connectionString).toBe('postgres://xport@db.internal:5432/xport?application_name=a');
    expect(c.ssl).toEqual({ rejectUnauthorized: true, ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' });
  });

  it('leaves the connection string alone without TLS files', async () => {
    const c = await postgresClientConfig({ connString: 'postgres://xport@db/x?sslmode=verify-full' });
    expect(c.connectionString).toBe('postgres://xport@db/x?sslmode=verify-full');
    expect(c.ssl).toBeUndefined();
  });

  it('refuses a cert_file without key_file, a missing file and a non-postgres URL with clear errors', async () => {
    await expect(postgresClientConfig({ connString: 'postgres://db/x', certFile: '/x' })).rejects.toThrow(/cert_file and key_file go together/);
    await expect(postgresClientConfig({ connString: 'postgres://db/x', caFile: '/nonexistent/ca.pem' })).rejects.toThrow(/cannot read storage ca_file \/nonexistent\/ca.pem: ENOENT/);
    await expect(postgresClientConfig({ connString: 'mysql://u:pw@db/x' })).rejects.toThrow(/must start with postgres:\/\//);
    await expect(postgresClientConfig({ connString: 'mysql://u:pw@db/x' })).rejects.not.toThrow(/pw/);
  });

  it('maps PostgreSQL failures to xport error kinds', () => {
    const kind = (e: unknown) => {
      const x = pgError('db:5432/x', e);
      return isXError(x) ? x.kind : undefined;
    };
    expect(kind(Object.assign(new Error('k was modified concurrently'), { code: 'XP409' }))).toBe('conflict');
    expect(kind(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe('conflict');
    expect(kind(Object.assign(new Error('database "x" does not exist'), { code: '3D000' }))).toBe('bad-parameter');
    expect(kind(Object.assign(new Error('permission denied for schema public'), { code: '42501' }))).toBe('bad-parameter');
    expect(kind(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe('connection-problem');
    expect(kind(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe('connection-problem');
    expect(kind(new Error('self-signed certificate in certificate chain'))).toBe('connection-problem');
    // pg's own words for a client whose connection had already failed: not a bug in xport.
    expect(kind(new Error('Client has encountered a connection error and is not queryable'))).toBe('connection-problem');
    expect(kind(new Error('Connection terminated unexpectedly'))).toBe('connection-problem');
    // Class 55 (object not in prerequisite state) is the server's momentary state, not a bug: retry.
    const notReady = pgError('db:5432/x', Object.assign(new Error('object not in prerequisite state'), { code: '55000' }));
    expect(notReady.kind).toBe('connection-problem');
    expect(notReady.message).toBe('PostgreSQL at db:5432/x cannot serve this request now (SQLSTATE 55000): object not in prerequisite state');
    expect(notReady.hint).toMatch(/^Retry in a moment/);
    expect(kind(Object.assign(new Error('could not obtain lock on row'), { code: '55P03' }))).toBe('connection-problem');
    expect(kind(Object.assign(new Error('some other failure'), { code: 'XX000' }))).toBe('internal');
  });

  it('tells a failed connection (worth one retry on a new one) from a failed statement', () => {
    const pgErr = (code: string | undefined, msg: string) => Object.assign(new Error(msg), code ? { code } : {});
    for (const e of [
      pgErr(undefined, 'Connection terminated unexpectedly'),
      pgErr(undefined, 'Client has encountered a connection error and is not queryable'),
      pgErr('ECONNRESET', 'read ECONNRESET'),
      pgErr('EPIPE', 'write EPIPE'),
      pgErr('08006', 'connection failure'),
      pgErr('08003', 'connection does not exist'),
      pgErr('57P01', 'terminating connection due to administrator command'),
      pgErr('57P02', 'terminating connection because of crash of another server process'),
    ]) {
      expect(isConnectionError(e), e.message).toBe(true);
    }
    for (const e of [
      pgErr('XP409', 'k was modified concurrently'),
      pgErr('23505', 'duplicate key value violates unique constraint'),
      pgErr('57014', 'canceling statement due to statement timeout'),
      pgErr('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      pgErr(undefined, 'Query read timeout'),
      pgErr(undefined, 'Connection terminated due to connection timeout'),
      pgErr('42P01', 'relation "xport_kv" does not exist'),
    ]) {
      expect(isConnectionError(e), e.message).toBe(false);
    }
  });
});

/**
 * The standalone engine's session set-up (redis/engine.ts) against an in-process fake Redis:
 * injected AUTH, the routed SELECT, the command table read once per database, refusals before
 * anything is dialled, a rotated password retried once, and the session's start/end events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { UpstreamCredentials } from '../../../src/db/credentials.js';
import { StaticCredentials } from '../../helpers/engine-front.js';
import { ALICE, rig, waitFor, type Rig } from '../../helpers/fake-redis-rig.js';
import { memoryRedis } from '../../helpers/resp-server.js';
import { COMMAND_INFO_RESP2 } from './command-info.fixture.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

describe('standalone engine: session set-up', () => {
  it('authenticates with the injected credentials, selects the routed db and reads the command table before the client', async () => {
    r = await rig({ dbName: '1' });
    const c = await r.connect();
    expect(await c.call('PING')).toBe('+PONG\r\n');
    expect(r.server.commands()).toEqual(['AUTH alice pw', 'SELECT 1', 'HELLO', 'COMMAND', 'PING']);
    expect(r.front.events.filter((e) => e.type === 'db.session.start')).toMatchObject([{ success: true }]);
  });

  it('reads the command table once per database, not once per session', async () => {
    r = await rig({ handler: memoryRedis({ commandTable: COMMAND_INFO_RESP2 }) });
    const a = await r.connect();
    expect(await a.call('PING')).toBe('+PONG\r\n');
    const b = await r.connect();
    expect(await b.call('PING')).toBe('+PONG\r\n');
    expect(r.server.commandsNamed('command')).toEqual(['COMMAND']);
    expect(r.front.engine.commandTableVersion('fake')).toBe('redis 7.0.99');
    expect(r.front.engine.commandTable('fake')?.resolve('get', [Buffer.from('get')]).name).toBe('get');
  });

  it('proves the connection with a PING when there is nothing to set up', async () => {
    r = await rig({ creds: new StaticCredentials() });
    const c = await r.connect();
    expect(await c.call('ECHO', 'x')).toBe('$1\r\nx\r\n');
    expect(r.server.conns[0]!.received.map((x) => x.join(' '))).toEqual(['COMMAND', 'ECHO x']);
  });

  it('uses the built-in table and asks again next session while the server will not describe its commands', async () => {
    r = await rig();
    for (let i = 0; i < 2; i++) expect(await (await r.connect()).call('PING')).toBe('+PONG\r\n');
    expect(r.server.commandsNamed('command')).toEqual(['COMMAND', 'COMMAND']);
    expect(r.front.engine.commandTable('fake')).toBeUndefined();
  });

  it('refuses a routed db the roles do not allow, before dialling Redis, and audits the failed start', async () => {
    r = await rig({ roles: [ALICE], dbName: '5' });
    const c = await r.connect();
    expect((await c.take(1))[0]).toBe('-ERR xport: access denied to db 5\r\n');
    await c.closed;
    expect(r.server.conns).toHaveLength(0);
    expect(r.front.events).toMatchObject([{ type: 'db.session.start', success: false, error: 'access denied to db 5' }]);
  });

  it('reports a refused injected AUTH as an xport error naming the db user', async () => {
    r = await rig({ creds: new StaticCredentials('alice', 'wrong'), handler: memoryRedis({ users: { alice: 'pw' } }) });
    const c = await r.connect();
    const [reply] = await c.take(1);
    expect(reply).toMatch(/^-ERR xport: failed to authenticate to the target database as "alice": WRONGPASS/);
    await c.closed;
  });

  it('asks for fresh credentials once when Redis refuses the cached password (WRONGPASS after a rotation)', async () => {
    class Rotated extends StaticCredentials {
      override async credentials(): Promise<UpstreamCredentials> {
        this.password = this.invalidated > 0 ? 'new' : 'old';
        return super.credentials();
      }
    }
    const creds = new Rotated('alice', 'old');
    r = await rig({ creds, handler: memoryRedis({ users: { alice: 'new' } }) });
    const c = await r.connect();
    expect(await c.call('PING')).toBe('+PONG\r\n');
    expect(creds.invalidated).toBe(1);
    expect(r.server.commandsNamed('auth')).toEqual(['AUTH alice old', 'AUTH alice new']);
  });

  it('emits the session end event when the client leaves', async () => {
    r = await rig();
    const c = await r.connect();
    expect(await c.call('PING')).toBe('+PONG\r\n');
    c.close();
    await waitFor(() => r!.front.events.some((e) => e.type === 'db.session.end'), 'the session end event');
    expect(r.front.engine.stats().activeSessions).toBe(0);
  });

  it('refuses every forward with the reason when the audit log cannot be written (no audit, no access)', async () => {
    r = await rig();
    const c = await r.connect();
    expect(await c.call('PING')).toBe('+PONG\r\n');
    // The front's sink has no flush; give this session's sink one that fails from now on.
    r.front.failAudit = true;
    c.send(Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n'));
    const [reply] = await c.take(1);
    expect(reply).toMatch(/^-ERR xport: audit log unavailable: /);
    await c.closed;
    expect(r.server.commandsNamed('set')).toEqual([]);
  });
});

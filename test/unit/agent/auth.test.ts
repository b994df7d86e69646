/**
 * The auth service's side of "agents are trusted no further than the sessions they serve"
 * (issue 8 §5), through the in-process agent's AgentAuth (all-in-one `xctl start`), which must
 * meet the same checks as a remote agent. Real CAs and certificates; the clock is a FakeClock so
 * expiry is exact.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readFrom } from '../../../src/audit/tail.js';
import { AuthService } from '../../../src/auth/service.js';
import { ENDED_GRACE_MS, EVENT_GRACE_MS } from '../../../src/auth/agent-sessions.js';
import { localAgentAuth } from '../../../src/agent/auth.js';
import { certificateInfo, generateKeyPair, type Identity } from '../../../src/pki/index.js';
import { MemoryBackend } from '../../../src/store/memory.js';
import { FakeClock } from '../../../src/util/clock.js';
import { nullLogger } from '../../../src/util/log.js';
import { isXError } from '../../../src/errors.js';

const HOUR = 3_600_000;
const CLUSTER = 'example';

async function setup(auditDir?: string) {
  const clock = new FakeClock(new Date());
  const backend = new MemoryBackend(clock);
  const auth = await AuthService.open({
    backend,
    clock,
    log: nullLogger,
    clusterName: CLUSTER,
    version: 'test',
    secondFactor: 'off',
    ...(auditDir ? { auditLog: { dir: auditDir } } : {}),
  });
  // What the proxy's registry says: agent-1 serves cache; agent-2 serves other; agent-3 is gone.
  const serving: Record<string, string[]> = { 'agent-1': ['cache'], 'agent-2': ['other'] };
  auth.useAgentDirectory({ connected: (h) => h in serving, serves: (h, db) => serving[h]?.includes(db) ?? false });
  const host = (hostId: string): Identity => ({ user: hostId, roles: [], traits: { db_users: [], db_names: [] }, usage: 'host', cluster: CLUSTER, hostId });
  /** routed issues a user certificate routed to a database, as `xsh db login` gets one, and returns it as the proxy passes it. */
  const routed = (user: string, database: string, dbUser: string, ttlMs = HOUR) => {
    const now = clock.now().getTime();
    const issued = auth.ca('user').issue({
      publicKey: generateKeyPair('ecdsa-p256').publicKeyPem,
      commonName: user,
      organization: ['dev'],
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + ttlMs),
      extKeyUsage: ['clientAuth'],
      identity: { user, roles: ['dev'], traits: { db_users: [dbUser], db_names: [] }, usage: 'user', cluster: CLUSTER, route: { database, dbUser } },
    });
    return Buffer.from(issued.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
  };
  const events = async (type: string) => {
    await auth.audit.flush();
    return auth.audit.search({ type, limit: 10_000 });
  };
  /** open is the proxy handing a session to an agent (TunnelServer's onStreamOpening); it returns the stream's close. */
  const open = (hostId: string, proof: string) => auth.agentSessions.streamOpening(hostId, proof);
  const sign = (hostId: string, req: { session?: { id: string; proof: string }; dbUser: string; database?: string; notAfter?: Date }) =>
    localAgentAuth(auth, host(hostId)).signDbClientCert({
      ...(req.session ? { session: req.session } : {}),
      database: req.database ?? 'cache',
      dbUser: req.dbUser,
      publicKeyPem: generateKeyPair('ecdsa-p256').publicKeyPem,
      notAfter: req.notAfter ?? new Date(clock.now().getTime() + 24 * HOUR),
    });
  return { clock, backend, auth, host, routed, events, sign, serving, open };
}

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<{ kind: string; message: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (isXError(err)) return { kind: err.kind, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('db_client certificates for the in-process agent', () => {
  it('signs only for the db user the session is routed to, and never beyond the proof', async () => {
    const { sign, routed, clock, events, open } = await setup();
    const proof = routed('alice', 'cache', 'alice', HOUR);
    open('agent-1', proof);
    const r = await sign('agent-1', { session: { id: 's1', proof }, dbUser: 'alice' });
    expect(certificateInfo(r.certPem).commonName).toBe('alice');
    expect(r.notAfter.getTime()).toBeLessThanOrEqual(clock.now().getTime() + HOUR);
    expect((await events('cert.create')).at(-1)).toMatchObject({ success: true, cert_type: 'db_client', user: 'alice', db_user: 'alice', sid: 's1', host_id: 'agent-1' });
  });

  it('refuses without a proof, for another db user, another database, or a database the agent does not serve', async () => {
    const { sign, routed, events, open } = await setup();
    const proof = routed('alice', 'cache', 'alice');
    open('agent-1', proof);
    open('agent-2', proof);
    expect((await refusal(sign('agent-1', { dbUser: 'alice' }))).message).toContain('only for a session the agent serves');
    expect((await refusal(sign('agent-1', { session: { id: 's2', proof }, dbUser: 'root' }))).message).toContain('routed to db user "alice", not "root"');
    expect((await refusal(sign('agent-1', { session: { id: 's3', proof }, dbUser: 'alice', database: 'payroll' }))).message).toContain('routed to database "cache", not "payroll"');
    expect((await refusal(sign('agent-2', { session: { id: 's4', proof }, dbUser: 'alice' }))).message).toContain('agent agent-2 does not serve database "cache"');
    const denied = (await events('cert.create')).filter((e) => e.success === false);
    expect(denied).toHaveLength(4);
    expect(denied.every((e) => e.cert_type === 'db_client' && typeof e.error === 'string')).toBe(true);
  });

  it('refuses an expired proof, a proof from another cluster and a session id another agent holds', async () => {
    const { sign, routed, clock, serving, open } = await setup();
    const short = routed('alice', 'cache', 'alice', 60_000);
    open('agent-1', short);
    clock.advance(61_000);
    expect((await refusal(sign('agent-1', { session: { id: 's5', proof: short }, dbUser: 'alice' }))).kind).toBe('auth-required');
    const other = await setup();
    const foreign = other.routed('alice', 'cache', 'alice');
    expect((await refusal(sign('agent-1', { session: { id: 's6', proof: foreign }, dbUser: 'alice' }))).message).toMatch(/not issued by/);
    const proof = routed('alice', 'cache', 'alice');
    open('agent-1', proof);
    open('agent-2', proof);
    await sign('agent-1', { session: { id: 's7', proof }, dbUser: 'alice' });
    // agent-2 learns the sid and alice's proof, and serves cache too: still not its session.
    serving['agent-2']!.push('cache');
    expect((await refusal(sign('agent-2', { session: { id: 's7', proof }, dbUser: 'alice' }))).message).toBe('session s7 belongs to another agent or user');
  });

  it('refuses a proof the agent kept from a session the proxy no longer has open, or never routed to it', async () => {
    const { sign, routed, open, serving } = await setup();
    const proof = routed('alice', 'cache', 'alice');
    const close = open('agent-1', proof);
    const second = open('agent-1', proof); // a second session of the same login
    await sign('agent-1', { session: { id: 'l1', proof }, dbUser: 'alice' });
    close('closed');
    await sign('agent-1', { session: { id: 'l2', proof }, dbUser: 'alice' });
    second('closed');
    second('closed'); // closing twice changes nothing
    expect((await refusal(sign('agent-1', { session: { id: 'l3', proof }, dbUser: 'alice' }))).message).toBe(
      'no session of user "alice" is open on agent agent-1: the proxy routed none there, or it has ended',
    );
    // agent-2 serves cache too but the proxy routed this login's sessions to agent-1 only.
    serving['agent-2']!.push('cache');
    expect((await refusal(sign('agent-2', { session: { id: 'l4', proof }, dbUser: 'alice' }))).message).toContain('no session of user "alice" is open on agent agent-2');
  });

  it('still signs for a short while after the user sent everything, then not even while the agent holds the stream open', async () => {
    const { sign, routed, open, clock } = await setup();
    const proof = routed('alice', 'cache', 'alice');
    const stream = open('agent-1', proof);
    stream('ended'); // the user's last bytes and END went out together with the OPEN
    clock.advance(ENDED_GRACE_MS - 1000);
    await sign('agent-1', { session: { id: 'e1', proof }, dbUser: 'alice' });
    clock.advance(1000);
    expect((await refusal(sign('agent-1', { session: { id: 'e2', proof }, dbUser: 'alice' }))).message).toContain('no session of user "alice" is open');
    stream('closed');
    expect((await refusal(sign('agent-1', { session: { id: 'e3', proof }, dbUser: 'alice' }))).message).toContain('no session of user "alice" is open');
  });

  it('tells an agent that is not connected yet to retry', async () => {
    const { sign, routed } = await setup();
    expect((await refusal(sign('agent-3', { session: { id: 's8', proof: routed('alice', 'cache', 'alice') }, dbUser: 'alice' }))).kind).toBe('connection-problem');
  });
});

describe('audit events from agents', () => {
  it('records an in-process session event under the user of the proof, whatever the event says', async () => {
    const { auth, host, routed, events } = await setup();
    const a = localAgentAuth(auth, host('agent-1'));
    const proof = routed('alice', 'cache', 'alice');
    a.openSession({ id: 'sid-1', proof });
    a.emit({ type: 'db.session.query', sid: 'sid-1', user: 'mallory', db_user: 'root', db_service: 'payroll', command: 'get' }, { id: 'sid-1', proof });
    expect((await events('db.session.query')).at(-1)).toMatchObject({ sid: 'sid-1', user: 'alice', db_user: 'alice', db_service: 'cache', agent: 'agent-1', command: 'get' });
  });

  it('refuses to open a session for a database the in-process agent does not serve', async () => {
    const { auth, host, routed } = await setup();
    const a = localAgentAuth(auth, host('agent-2'));
    expect((await refusal(() => a.openSession({ id: 'sid-2', proof: routed('alice', 'cache', 'alice') }))).message).toContain('does not serve database "cache"');
  });

  it('rejects events of sessions the agent does not serve and reports them once per batch', async () => {
    const { auth, host, routed, events } = await setup();
    const proof = routed('alice', 'cache', 'alice');
    auth.agentSessions.register(host('agent-1'), 'held-by-1', proof);
    const r = auth.acceptAgentEvents(host('agent-1'), [
      { type: 'db.session.query', sid: 'unknown' },
      { type: 'user.login', sid: 'held-by-1', user: 'admin' },
      { type: 'db.create', sid: 'held-by-1', name: 'payroll' },
      { type: 'db.session.query', sid: 'held-by-1', user: 'bob', time: '2001-01-01T00:00:00.000Z', id: 'forged-id', code: 'T0000' },
      'not an object',
    ]);
    expect(r).toEqual({ accepted: 1, rejected: 4 });
    const other = auth.acceptAgentEvents(host('agent-2'), [{ type: 'db.session.query', sid: 'held-by-1' }], { 'held-by-1': proof });
    expect(other).toEqual({ accepted: 0, rejected: 1 });
    const rejected = await events('agent.events.rejected');
    expect(rejected.map((e) => [e.host_id, e.count])).toEqual([
      ['agent-1', 4],
      ['agent-2', 1],
    ]);
    const recorded = await events('db.session.query');
    expect(recorded.map((e) => e.user)).toEqual(['alice']);
    // Time, id and code are the auth service's, not the agent's.
    expect(recorded[0]!.time).not.toBe('2001-01-01T00:00:00.000Z');
    expect(recorded[0]!.id).not.toBe('forged-id');
    expect(recorded[0]!.code).not.toBe('T0000');
    expect(await events('db.create')).toEqual([]);
  });

  it('learns a session from the proof a batch carries (after a restart), and takes late events within the grace only', async () => {
    const { auth, host, routed, clock, events } = await setup();
    const proof = routed('alice', 'cache', 'alice', 60_000);
    clock.advance(120_000); // the session ended with its certificate; its last events arrive now
    expect(auth.acceptAgentEvents(host('agent-1'), [{ type: 'db.session.end', sid: 'late-1' }], { 'late-1': proof })).toEqual({ accepted: 1, rejected: 0 });
    clock.advance(EVENT_GRACE_MS);
    expect(auth.acceptAgentEvents(host('agent-1'), [{ type: 'db.session.end', sid: 'late-2' }], { 'late-2': proof })).toEqual({ accepted: 0, rejected: 1 });
    expect((await events('db.session.end')).map((e) => e.sid)).toEqual(['late-1']);
  });

  it('refuses the agent API to user certificates', async () => {
    const { auth } = await setup();
    const user: Identity = { user: 'alice', roles: ['dev'], traits: { db_users: [], db_names: [] }, usage: 'user', cluster: CLUSTER };
    expect((await refusal(() => auth.acceptAgentEvents(user, []))).kind).toBe('access-denied');
  });
});

describe('audit events through the write-ahead log', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'xport-wal-'));
    dirs.push(d);
    return d;
  };

  it('stores a batch re-sent after a lost acknowledgement once, under ids derived from the agent and its host', async () => {
    const { auth, host, routed, events } = await setup(tmp());
    const proof = routed('alice', 'cache', 'alice');
    const batch = () => [
      { type: 'db.session.query', sid: 's-1', id: '0190000000000000000000000000000a', command: 'get' },
      { type: 'db.session.query', sid: 's-1', id: '0190000000000000000000000000000b', command: 'set' },
    ];
    expect(auth.acceptAgentEvents(host('agent-1'), batch(), { 's-1': proof })).toEqual({ accepted: 2, rejected: 0 });
    // The agent did not see the answer and sends the same batch again, with one more event.
    expect(auth.acceptAgentEvents(host('agent-1'), [...batch(), { type: 'db.session.end', sid: 's-1', id: '0190000000000000000000000000000c' }], { 's-1': proof })).toEqual({
      accepted: 3,
      rejected: 0,
    });
    const q = await events('db.session.query');
    expect(q.map((e) => e.command)).toEqual(['get', 'set']);
    expect(await events('db.session.end')).toHaveLength(1);
    // The stored id keeps the agent's millisecond (order) but not its choice of the rest.
    expect(q[0]!.id).toMatch(/^019000000000[0-9a-f]{20}$/);
    expect(q[0]!.id).not.toBe('0190000000000000000000000000000a');
  });

  it('keeps one agent from hiding another agent\'s events by reusing their ids', async () => {
    const { auth, host, routed, events } = await setup(tmp());
    const id = '0190000000000000000000000000abcd';
    auth.acceptAgentEvents(host('agent-1'), [{ type: 'db.session.query', sid: 's-1', id, command: 'get' }], { 's-1': routed('alice', 'cache', 'alice') });
    auth.acceptAgentEvents(host('agent-2'), [{ type: 'db.session.query', sid: 's-2', id, command: 'flushall' }], { 's-2': routed('bob', 'other', 'bob') });
    // Both are stored (same millisecond, so their order is the hashes'): sorted for the comparison.
    expect((await events('db.session.query')).map((e) => [e.user, e.command]).sort()).toEqual([
      ['alice', 'get'],
      ['bob', 'flushall'],
    ]);
  });

  it('writes every event to the log before the index, and a restarted service indexes what was left exactly once', async () => {
    const dir = tmp();
    const first = await setup(dir);
    const a = localAgentAuth(first.auth, first.host('agent-1'));
    const proof = first.routed('alice', 'cache', 'alice');
    a.openSession({ id: 'sid-w', proof });
    for (let i = 0; i < 100; i++) a.emit({ type: 'db.session.query', sid: 'sid-w', command: 'get', i }, { id: 'sid-w', proof });
    a.flush();
    const logged = readFrom(dir, { file: '', pos: 0 }, 10_000).events.filter((e) => e.type === 'db.session.query');
    expect(logged.map((e) => e.i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(new Set(logged.map((e) => e.id)).size).toBe(100);
    await first.auth.close();
    // A crash after indexing but before the offset was saved: the index replays from the start.
    rmSync(join(dir, 'index.offset'), { force: true });
    const again = await AuthService.open({ backend: first.backend, clock: first.clock, log: nullLogger, clusterName: CLUSTER, version: 'test', secondFactor: 'off', auditLog: { dir } });
    await again.audit.flush();
    const stored = await again.audit.search({ type: 'db.session.query', limit: 10_000 });
    expect(stored.map((e) => e.i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await again.close();
  });
});

describe('joining', () => {
  it('refuses a join for another cluster name before it uses the token up, naming the right name', async () => {
    const { auth } = await setup();
    const { token } = await auth.tokens.create({ type: 'db' }, 'admin');
    const publicKeyPem = generateKeyPair('ecdsa-p256').publicKeyPem;
    const err = await refusal(auth.joinAgent({ token, publicKeyPem, clusterName: 'xport' }));
    expect(err.message).toBe(`this agent's config names cluster "xport", but the proxy serves cluster "${CLUSTER}"`);
    const ok = await auth.joinAgent({ token, publicKeyPem, clusterName: CLUSTER });
    expect(ok.cluster_name).toBe(CLUSTER);
    expect((await refusal(auth.joinAgent({ token, publicKeyPem }))).message).toBe('join token is invalid, used up or has expired');
  });

  it('audits failed joins from one source at most 10 a minute, then says how many it left out', async () => {
    const { auth, clock, events } = await setup();
    const publicKeyPem = generateKeyPair('ecdsa-p256').publicKeyPem;
    for (let i = 0; i < 25; i++) await refusal(auth.joinAgent({ token: 'f'.repeat(32), publicKeyPem, remoteAddr: '192.0.2.7' }));
    await refusal(auth.joinAgent({ token: 'f'.repeat(32), publicKeyPem, remoteAddr: '192.0.2.8' }));
    expect((await events('agent.join')).map((e) => e.remote_addr)).toEqual([...Array(10).fill('192.0.2.7'), '192.0.2.8']);
    clock.advance(60_000);
    await refusal(auth.joinAgent({ token: 'f'.repeat(32), publicKeyPem, remoteAddr: '192.0.2.7' }));
    expect((await events('agent.join')).at(-1)).toMatchObject({ success: false, remote_addr: '192.0.2.7', suppressed: 15 });
  });
});

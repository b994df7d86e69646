/**
 * auth/agent-sessions: what the auth service lets a database agent do on a user's behalf.
 *
 * A host certificate only says "this is an agent of the cluster". It must not be enough to get a
 * db_client certificate for any database user, or to write audit events under any user's name
 * (issue 8 §5). So every such request names a session and carries the session's proof: the
 * user's certificate routed to the database, which the proxy put in the stream header and which
 * only the agents serving that database ever receive. The registry verifies the proof (user CA,
 * this cluster, validity, a route) and that the asking agent is connected and serves the routed
 * database right now, and binds the session id to that agent and that user. A db_client
 * certificate further needs the session to be live: the proxy tells the registry which streams
 * it has open to which agent with which certificate ({@link AgentSessionRegistry.streamOpening}),
 * so a proof an agent kept from an earlier session is worth nothing once that session closed. Everything an agent
 * asks later is judged against that binding: the db user and database come from the route, the
 * audit `user` from the certificate, never from the request.
 *
 * The registry is a bounded cache, not a source of truth: agents send the proof again with every
 * audit batch, so a restarted auth service (or an evicted entry) re-learns a session from its
 * proof. Imports errors, pki and util only.
 */
import { accessDenied, badParameter, connectionProblem, limitExceeded } from '../errors.js';
import { verifyCertificate, certificateInfo, type Identity, type VerifiedIdentity } from '../pki/index.js';
import type { Clock } from '../util/clock.js';

/** AgentDirectory tells the auth service which agents are connected and what they serve. */
export interface AgentDirectory {
  /** connected says whether the agent has a live tunnel to the proxy. */
  connected(hostId: string): boolean;
  /** serves says whether the agent advertises the database right now. */
  serves(hostId: string, database: string): boolean;
}

/** AgentSession is a session an agent serves, as proven by the user's routed certificate. */
export interface AgentSession {
  sid: string;
  hostId: string;
  user: string;
  database: string;
  dbUser: string;
  dbName?: string;
  /** When the proof (the user's certificate) expires. */
  expires: number;
  /** The proof as presented (base64 DER), to recognise it again without re-verifying. */
  proof: string;
}

/** EVENT_GRACE_MS is how long after its certificate expired a session's audit events are still taken. */
export const EVENT_GRACE_MS = 3_600_000;
/** ENDED_GRACE_MS is how long a session whose user sent everything still counts as live. */
export const ENDED_GRACE_MS = 30_000;
/** MAX_PROOF_CHARS bounds a proof (a certificate is about 1 KB; base64 of 16 KB is generous). */
const MAX_PROOF_CHARS = 16_384;
/** MAX_SESSIONS bounds the cache; the oldest entries go first (agents resend proofs). */
const MAX_SESSIONS = 100_000;
const SID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/** AgentSessionRegistry verifies session proofs and remembers which agent serves which session. */
export class AgentSessionRegistry {
  readonly #sessions = new Map<string, AgentSession>();
  /**
   * Streams the proxy has open to each agent, by `hostId \n proof` (a login's sessions share a
   * proof): how many are open, and until when one whose user stopped sending still counts.
   */
  readonly #live = new Map<string, { open: number; lingerUntil: number }>();
  /** Proofs verified before (a login's sessions share one), so a new session costs no signature check. */
  readonly #verified = new Map<string, VerifiedIdentity>();
  #directory: AgentDirectory | undefined;

  constructor(private readonly o: { userCaPem: string; clusterName: string; clock: Clock }) {}

  /** useDirectory connects the registry to the proxy's view of agents (set once the proxy runs). */
  useDirectory(d: AgentDirectory): void {
    this.#directory = d;
  }

  /**
   * register verifies a session's proof for the agent `actor` and returns the session. With
   * `forEvents` a proof that expired less than {@link EVENT_GRACE_MS} ago is still taken (the
   * audit events of a session that ended with its certificate arrive after it), but a proof must
   * be valid for anything that grants access.
   */
  register(actor: Identity, sid: unknown, proof: unknown, opts: { forEvents?: boolean } = {}): AgentSession {
    const hostId = actor.hostId ?? actor.user;
    if (typeof sid !== 'string' || !SID_RE.test(sid)) throw badParameter('invalid session id');
    if (typeof proof !== 'string' || proof.length === 0 || proof.length > MAX_PROOF_CHARS) {
      throw accessDenied('the request carries no proof of a user session', {
        hint: 'Agents present the certificate of the session they serve; upgrade the agent.',
      });
    }
    const known = this.#sessions.get(sid);
    if (known) {
      if (known.hostId !== hostId || known.proof !== proof) throw accessDenied(`session ${sid} belongs to another agent or user`);
      return known;
    }
    const id = this.#verify(proof, !!opts.forEvents);
    const route = id.route;
    if (!route) throw accessDenied(`the certificate of user "${id.user}" is not routed to a database`);
    const dir = this.#directory;
    if (!dir) throw accessDenied('no agents are connected to this auth service');
    if (!dir.connected(hostId)) {
      // A remote agent's audit batch can arrive before its tunnel is back after a proxy restart:
      // ask it to retry rather than lose the events.
      throw connectionProblem(`agent ${hostId} is not connected to the proxy`, { hint: 'Retry once the agent has reconnected.' });
    }
    if (!dir.serves(hostId, route.database)) {
      throw accessDenied(`agent ${hostId} does not serve database "${route.database}"`);
    }
    const s: AgentSession = {
      sid,
      hostId,
      user: id.user,
      database: route.database,
      dbUser: route.dbUser ?? 'default',
      ...(route.dbName !== undefined ? { dbName: route.dbName } : {}),
      expires: id.expires.getTime(),
      proof,
    };
    this.#remember(s);
    return s;
  }

  /**
   * streamOpening records that the proxy is handing a session (the user's certificate in the
   * stream header) to an agent, before the agent sees it; the returned function is told when the
   * user has sent everything (`ended`: the session still counts for {@link ENDED_GRACE_MS}, time
   * for an agent that got the stream and its last bytes at once to ask for its credentials) and
   * when the stream is gone (`closed`). {@link isLive} holds only in between: an agent that keeps
   * a stream half-open, or a proof from an earlier session, gains nothing by it.
   */
  streamOpening(hostId: string, proof: unknown): (how: 'ended' | 'closed') => void {
    if (typeof proof !== 'string') return () => {};
    const key = `${hostId}\n${proof}`;
    if (this.#live.size >= MAX_SESSIONS) this.#sweepLive();
    let e = this.#live.get(key);
    if (!e) {
      e = { open: 0, lingerUntil: 0 };
      this.#live.set(key, e);
    }
    e.open++;
    const entry = e;
    let counted = true;
    return (how) => {
      if (how === 'ended') {
        if (!counted) return;
        counted = false;
        entry.open--;
        entry.lingerUntil = Math.max(entry.lingerUntil, this.o.clock.now().getTime() + ENDED_GRACE_MS);
        return;
      }
      if (counted) {
        counted = false;
        entry.open--;
      }
      // Gone for good: nothing of it lingers (another open stream of the login still counts).
      if (entry.open <= 0) this.#live.delete(key);
    };
  }

  /** isLive says whether the proxy has a session open on the agent with this proof. */
  isLive(hostId: string, proof: string): boolean {
    const e = this.#live.get(`${hostId}\n${proof}`);
    return e !== undefined && (e.open > 0 || e.lingerUntil > this.o.clock.now().getTime());
  }

  #sweepLive(): void {
    const now = this.o.clock.now().getTime();
    for (const [k, e] of this.#live) if (e.open <= 0 && e.lingerUntil <= now) this.#live.delete(k);
  }

  /**
   * lookup returns the session sid if the agent registered it, else undefined; with `nowMs`,
   * not once its proof expired more than {@link EVENT_GRACE_MS} ago. (The in-process agent's
   * per-command path leaves the time out: reading the clock per command cost more than the
   * rest of the check, and that agent ends each session at its certificate's expiry itself.)
   */
  lookup(actor: Identity, sid: unknown, nowMs?: number): AgentSession | undefined {
    if (typeof sid !== 'string') return undefined;
    const s = this.#sessions.get(sid);
    if (!s || s.hostId !== (actor.hostId ?? actor.user)) return undefined;
    if (nowMs !== undefined && s.expires + EVENT_GRACE_MS <= nowMs) {
      this.#sessions.delete(sid);
      return undefined;
    }
    return s;
  }

  /** size is the number of cached sessions (tests and metrics). */
  get size(): number {
    return this.#sessions.size;
  }

  #verify(proof: string, forEvents: boolean): VerifiedIdentity {
    const nowMs = this.o.clock.now().getTime();
    const cached = this.#verified.get(proof);
    if (cached && cached.expires.getTime() > nowMs) return cached;
    const id = this.#verifyOnce(proof, forEvents);
    if (id.expires.getTime() > nowMs) {
      if (this.#verified.size >= 1024) this.#verified.delete(this.#verified.keys().next().value!);
      this.#verified.set(proof, id);
    }
    return id;
  }

  #verifyOnce(proof: string, forEvents: boolean): VerifiedIdentity {
    const der = Buffer.from(proof, 'base64');
    let now = this.o.clock.now();
    if (forEvents) {
      // Judge an expired proof as of its last valid moment, if it expired within the grace.
      try {
        const notAfter = certificateInfo(der).notAfter.getTime();
        if (notAfter < now.getTime() && now.getTime() - notAfter < EVENT_GRACE_MS) now = new Date(notAfter);
      } catch {
        // verifyCertificate below says what is wrong with it
      }
    }
    return verifyCertificate(der, this.o.userCaPem, { now, usages: ['user'], cluster: this.o.clusterName });
  }

  #remember(s: AgentSession): void {
    if (this.#sessions.size >= MAX_SESSIONS) {
      const now = this.o.clock.now().getTime();
      for (const [k, v] of this.#sessions) if (v.expires + EVENT_GRACE_MS <= now) this.#sessions.delete(k);
      // Still full: drop the oldest tenth (Map iterates in insertion order).
      if (this.#sessions.size >= MAX_SESSIONS) {
        let n = MAX_SESSIONS / 10;
        for (const k of this.#sessions.keys()) {
          if (n-- <= 0) break;
          this.#sessions.delete(k);
        }
      }
    }
    if (this.#sessions.size >= MAX_SESSIONS) throw limitExceeded('too many agent sessions');
    this.#sessions.set(s.sid, s);
  }
}

import { describe, expect, it } from 'vitest';
import type { Session } from '../../../src/db/session.js';
import { authProblem, authUserProblem, checkHello } from '../../../src/redis/auth-guard.js';
import { plainDatabase, role, sessionChecker, ANY_DB } from '../../helpers/engine-front.js';

const db = plainDatabase(6379);
const ALICE_ONLY = role('alice', { db_labels: ANY_DB, db_users: ['alice'], db_names: ['0'] });

function session(dbUser: string): Session {
  return {
    id: 's1',
    user: 'u',
    roles: ['alice'],
    database: db,
    dbUser,
    expires: new Date(Date.now() + 3600_000),
    checker: sessionChecker([ALICE_ONLY], db, dbUser),
    audit: { emit: () => {} },
  };
}
const b = (...xs: string[]) => xs.map((x) => Buffer.from(x, 'latin1'));

describe('auth-guard', () => {
  it('allows AUTH only as the routed db user, compared byte for byte', () => {
    const s = session('alice');
    expect(authProblem(s, b('AUTH', 'alice', 'pw'))).toBeUndefined();
    expect(authProblem(s, b('AUTH', 'bob', 'pw'))).toMatch(/^failed to authenticate as bob user\. .*reconnect with xsh db connect fake --db-user=bob$/);
    // A name that decodes to the same text but is not the same bytes is another Redis user.
    expect(authUserProblem(s, Buffer.from([0x61, 0x6c, 0x69, 0x63, 0x65, 0x00]))).toMatch(/^failed to authenticate as alice\? user/);
  });

  it('refuses a db user the roles no longer allow even when it is the routed one', () => {
    expect(authProblem(session('carol'), b('AUTH', 'carol', 'pw'))).toMatch(/^failed to authenticate as carol user/);
  });

  it('answers arity and syntax the way Redis words them', () => {
    const s = session('alice');
    expect(authProblem(s, b('AUTH'))).toBe("wrong number of arguments for 'auth' command");
    expect(authProblem(s, b('AUTH', 'a', 'b', 'c'))).toBe('syntax error');
  });

  it('refuses AUTH <password> alone unless the session is routed to default, and says what to send', () => {
    expect(authProblem(session('default'), b('AUTH', 'pw'))).toBeUndefined();
    expect(authProblem(session('alice'), b('AUTH', 'pw'))).toMatch(/send AUTH alice <password>$/);
  });

  it('reads HELLO options as C strings, checks every AUTH option and finds the last SETNAME', () => {
    const s = session('alice');
    expect(checkHello(s, b('HELLO', '3', 'AUTH\0', 'bob', 'pw'), false).problem).toMatch(/^failed to authenticate as bob user/);
    expect(checkHello(s, b('HELLO', '3', 'auth', 'alice', 'pw', 'SETNAME', 'n1'), false)).toEqual({ problem: undefined, authAt: 3, setnameAt: 6 });
    expect(checkHello(s, b('HELLO', '3', 'AUTH', 'alice'), false).problem).toBe('syntax error');
    expect(checkHello(s, b('HELLO', '3'), true).problem).toBe('hello is not supported inside MULTI');
    expect(checkHello(s, b('HELLO', '2', 'BOGUS'), false)).toEqual({ problem: undefined, authAt: -1, setnameAt: -1 });
  });
});

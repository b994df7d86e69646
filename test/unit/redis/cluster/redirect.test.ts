import { describe, expect, it } from 'vitest';
import { parseClusterError } from '../../../../src/redis/cluster/redirect.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('parseClusterError', () => {
  it('reads MOVED and ASK with the slot and address', () => {
    expect(parseClusterError(b('-MOVED 3999 127.0.0.1:6381\r\n'))).toEqual({ kind: 'moved', slot: 3999, host: '127.0.0.1', port: 6381 });
    expect(parseClusterError(b('-ASK 16383 10.0.0.7:7002\r\n'))).toEqual({ kind: 'ask', slot: 16383, host: '10.0.0.7', port: 7002 });
  });

  it('keeps an empty host (Redis 7 unknown endpoint: the node that answered) and IPv6 hosts', () => {
    expect(parseClusterError(b('-MOVED 1 :6381\r\n'))).toEqual({ kind: 'moved', slot: 1, host: '', port: 6381 });
    expect(parseClusterError(b('-MOVED 1 ::1:6381\r\n'))).toEqual({ kind: 'moved', slot: 1, host: '::1', port: 6381 });
    expect(parseClusterError(b('-ASK 2 node-b.example.com:7000\r\n'))).toMatchObject({ host: 'node-b.example.com', port: 7000 });
  });

  it('recognises TRYAGAIN and CLUSTERDOWN', () => {
    expect(parseClusterError(b('-TRYAGAIN Multiple keys request during rehashing of slot\r\n'))).toEqual({ kind: 'tryagain' });
    expect(parseClusterError(b('-CLUSTERDOWN The cluster is down\r\n'))).toEqual({ kind: 'clusterdown' });
  });

  it('ignores other errors, non-errors and malformed redirects, which then pass to the client untouched', () => {
    for (const s of [
      '-ERR unknown command\r\n',
      '+MOVED 1 127.0.0.1:1\r\n',
      '$5\r\nMOVED\r\n',
      '-MOVED\r\n',
      '-MOVED x 127.0.0.1:6381\r\n',
      '-MOVED 16384 127.0.0.1:6381\r\n',
      '-MOVED 1 127.0.0.1\r\n',
      '-MOVED 1 127.0.0.1:99999\r\n',
      '-MOVED 1 127.0.0.1:6381 extra\r\n',
      '-MOVEDX 1 127.0.0.1:6381\r\n',
      '-CROSSSLOT Keys in request don\'t hash to the same slot\r\n',
      `-MOVED 1 ${'a'.repeat(700)}:1\r\n`,
    ]) {
      expect(parseClusterError(b(s)), s).toBeUndefined();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { parseStorageAddress } from '../../../../src/cli/xctl/backend.js';

describe('xctl backend storage addresses', () => {
  it('reads sqlite:DIR as an absolute data dir', () => {
    expect(parseStorageAddress('sqlite:/var/lib/xport', '--from')).toEqual({ type: 'sqlite', dir: '/var/lib/xport' });
    expect(parseStorageAddress('sqlite:data', '--from')).toEqual({ type: 'sqlite', dir: resolve('data') });
  });

  it('reads a postgres URL with the TLS flags', () => {
    expect(parseStorageAddress('postgres://xport@db/x', '--to', { caFile: '/ca.pem' })).toEqual({ type: 'postgres', connString: 'postgres://xport@db/x', caFile: '/ca.pem' });
  });

  it('refuses anything else, naming the flag, without echoing a password', () => {
    expect(() => parseStorageAddress(undefined, '--to')).toThrow(/--to is required/);
    expect(() => parseStorageAddress('/var/lib/xport', '--from')).toThrow(/--from must be sqlite:DIR or postgres:\/\//);
    let msg = '';
    try {
      parseStorageAddress('mysql://u:hunter2@db/x', '--to');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('--to must be');
    expect(msg).not.toContain('hunter2');
  });
});

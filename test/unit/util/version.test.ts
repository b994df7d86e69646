import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { VERSION } from '../../../src/util/version.js';
import { ALPN } from '../../../src/proxy/listener.js';
import { ALPN_HTTP, ALPN_REDIS, ALPN_REDIS_MUX } from '../../../src/client/constants.js';

describe('constants kept in two places', () => {
  it('VERSION equals package.json version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version);
  });
  it("the client's ALPN names equal the proxy's", () => {
    expect(ALPN_HTTP).toBe(ALPN.http);
    expect(ALPN_REDIS).toBe(ALPN.redis);
    expect(ALPN_REDIS_MUX).toBe(ALPN.redisMux);
  });
});

import { describe, expect, it } from 'vitest';
import { jitterOf, objectIdOf, REAUTH_JITTER_MS, REAUTH_MARGIN_MS, replaceTime } from '../../../../src/cloud/azure/entra.js';
import { armError, credentialError, isAccessDeniedOrNotFound } from '../../../../src/cloud/azure/errors.js';

const jwt = (claims: object) => `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('Entra ID tokens for Redis', () => {
  it("reads the principal's object id (the Redis user name) from the token", () => {
    expect(objectIdOf(jwt({ oid: 'a1b2', aud: 'https://redis.azure.com' }))).toBe('a1b2');
  });

  it('refuses tokens without an oid or that are not JWTs', () => {
    expect(() => objectIdOf(jwt({ sub: 'x' }))).toThrow(/no oid claim/);
    expect(() => objectIdOf('opaque')).toThrow(/not a JWT/);
  });

  it('replaces a token 3 minutes plus jitter before it expires', () => {
    const now = 1_000_000;
    const hour = now + 3_600_000;
    expect(replaceTime(now, hour, 0)).toBe(hour - REAUTH_MARGIN_MS);
    expect(replaceTime(now, hour, 20_000)).toBe(hour - REAUTH_MARGIN_MS - 20_000);
  });

  it('derives the jitter from the token, so a token handed out again keeps its due time', () => {
    const a = jwt({ oid: 'x', uti: 'one' });
    expect(jitterOf(a)).toBe(jitterOf(a));
    const spread = new Set(Array.from({ length: 50 }, (_, i) => jitterOf(jwt({ oid: 'x', uti: String(i) }))));
    expect(spread.size).toBeGreaterThan(40);
    expect(Math.min(...spread)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...spread)).toBeLessThan(REAUTH_JITTER_MS);
  });

  it('replaces a token shorter-lived than the margin at half its life, never in the past', () => {
    const now = 1_000_000;
    expect(replaceTime(now, now + 120_000, 10_000)).toBe(now + 60_000);
  });
});

describe('Azure errors', () => {
  it('names the missing permission when ARM answers 403, with what to do', () => {
    const e = armError({ statusCode: 403, code: 'AuthorizationFailed', message: 'The client … does not have authorization' }, 'failed to get the access key of Azure Redis "c"', 'Microsoft.Cache/redis/listKeys/action');
    expect(e.kind).toBe('access-denied');
    expect(e.message).toBe('failed to get the access key of Azure Redis "c": the agent\'s Azure identity lacks permission Microsoft.Cache/redis/listKeys/action');
    expect(e.hint).toMatch(/xctl db configure bootstrap --azure/);
  });

  it("explains a credential failure with the seed's words and the variables to set", () => {
    const err = Object.assign(new Error('EnvironmentCredential is unavailable.\nmore'), { name: 'AggregateAuthenticationError' });
    const e = armError(err, 'x', 'y');
    expect(e.message).toBe('DefaultAzureCredential: failed to acquire a token. EnvironmentCredential is unavailable.');
    expect(e.hint).toMatch(/AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET/);
    expect(credentialError(err, 'ManagedIdentityCredential (client id c1)').message).toMatch(/^ManagedIdentityCredential \(client id c1\): failed to acquire a token/);
  });

  it('tells the per-subscription failures discovery skips from outages', () => {
    expect(isAccessDeniedOrNotFound({ statusCode: 403 })).toBe(true);
    expect(isAccessDeniedOrNotFound({ statusCode: 404, code: 'SubscriptionNotFound' })).toBe(true);
    expect(isAccessDeniedOrNotFound({ statusCode: 503 })).toBe(false);
    expect(isAccessDeniedOrNotFound(new Error('ECONNREFUSED'))).toBe(false);
  });
});

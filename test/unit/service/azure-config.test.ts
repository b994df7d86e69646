import { describe, expect, it } from 'vitest';
import { applyEnvironment, parseConfig } from '../../../src/service/config.js';

describe('Azure settings in the service config', () => {
  it('reads auth and per-db-user identities on an azure matcher', () => {
    const c = parseConfig(
      ['version: v1', 'db_service:', '  azure:', '    - types: [redis-enterprise]', '      regions: [eastus]', '      auth: entra_id', '      identities: { reader: { client_id: c-1 } }'].join('\n'),
    );
    expect(c.db.azure).toEqual([{ types: ['redis-enterprise'], regions: ['eastus'], subscriptions: ['*'], resourceGroups: ['*'], tags: { '*': '*' }, auth: 'entra_id', identities: { reader: { clientId: 'c-1' } } }]);
  });

  it('names a bad auth value and an unknown identity key with their line', () => {
    expect(() => parseConfig('version: v1\ndb_service:\n  azure:\n    - types: [redis]\n      auth: password\n')).toThrow(/:5: db_service\.azure\.0\.auth: /);
    expect(() => parseConfig('version: v1\ndb_service:\n  azure:\n    - types: [redis]\n      identities: { r: { client_id: x, object_id: y } }\n')).toThrow(/db_service\.azure\.0\.identities\.r\.object_id: unknown key/);
  });

  it('lets AZURE_AUTHORITY_HOST replace the authority of the configured cloud', () => {
    const c = parseConfig('version: v1\ndb_service: { azure_cloud: AzureUSGovernment }');
    const e = applyEnvironment(c, { AZURE_AUTHORITY_HOST: 'https://login.example.test/' });
    expect(e.db.azureCloud).toEqual({ name: 'custom', authorityHost: 'https://login.example.test', resourceManagerEndpoint: 'https://management.usgovcloudapi.net' });
    expect(applyEnvironment(c, {})).toBe(c);
  });
});

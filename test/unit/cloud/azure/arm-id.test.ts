import { describe, expect, it } from 'vitest';
import { parseCacheId, resourceGroupOf, subscriptionOf } from '../../../../src/cloud/azure/arm-id.js';
import { azureEnvironment } from '../../../../src/cloud/azure/environment.js';
import { AZURE_CLOUDS } from '../../../../src/db/cloud.js';

describe('ARM resource ids', () => {
  it('reads OSS caches, Enterprise databases, and a cluster id as its default database', () => {
    expect(parseCacheId('/subscriptions/s/resourceGroups/g/providers/Microsoft.Cache/Redis/c')).toEqual({ kind: 'redis', subscription: 's', resourceGroup: 'g', name: 'c' });
    expect(parseCacheId('/subscriptions/s/resourceGroups/g/providers/Microsoft.Cache/redisEnterprise/e/databases/d')).toEqual({ kind: 'redis-enterprise', subscription: 's', resourceGroup: 'g', cluster: 'e', database: 'd' });
    expect(parseCacheId('/subscriptions/s/resourceGroups/g/providers/microsoft.cache/redisenterprise/e')).toMatchObject({ cluster: 'e', database: 'default' });
  });

  it('refuses ids of other resources with a hint showing the expected shape', () => {
    expect(() => parseCacheId('/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/x')).toThrow(/not the ARM resource id of an Azure cache/);
    expect(() => parseCacheId('/subscriptions/s/resourceGroups/g/providers/Microsoft.Cache/Redis/c/databases/d')).toThrow(/has no databases/);
  });

  it('reads the subscription and resource group of any id', () => {
    expect(subscriptionOf('/subscriptions/abc/resourceGroups/rg/x')).toBe('abc');
    expect(resourceGroupOf('/subscriptions/abc/resourceGroups/rg/x')).toBe('rg');
    expect(resourceGroupOf('/subscriptions/abc')).toBeUndefined();
  });
});

describe('Azure environment', () => {
  it('keeps instance discovery on for the public cloud only', () => {
    expect(azureEnvironment(AZURE_CLOUDS.AzurePublicCloud)).toEqual({
      authorityHost: 'https://login.microsoftonline.com',
      resourceManagerEndpoint: 'https://management.azure.com',
      armScope: 'https://management.azure.com/.default',
      disableInstanceDiscovery: false,
    });
    const china = azureEnvironment(AZURE_CLOUDS.AzureChinaCloud);
    expect(china).toMatchObject({ disableInstanceDiscovery: true, armScope: 'https://management.chinacloudapi.cn/.default' });
    expect(azureEnvironment(AZURE_CLOUDS.AzureUSGovernment).armScope).toBe('https://management.usgovcloudapi.net/.default');
  });

  it('asks a custom ARM endpoint for management tokens of the public scope', () => {
    const env = azureEnvironment({ name: 'custom', authorityHost: 'https://127.0.0.1:9443/', resourceManagerEndpoint: 'https://127.0.0.1:9444' });
    expect(env).toEqual({ authorityHost: 'https://127.0.0.1:9443', resourceManagerEndpoint: 'https://127.0.0.1:9444', armScope: 'https://management.azure.com/.default', disableInstanceDiscovery: true });
  });
});

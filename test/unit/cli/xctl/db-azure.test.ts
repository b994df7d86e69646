import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../../src/cli/xctl/main.js';
import { parseConfig } from '../../../../src/service/config.js';
import { testContext } from '../xsh/test-context.js';

const SUB = '00000000-0000-0000-0000-0000000000aa';
const ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Cache/Redis/c`;

describe('xctl db configure for Azure', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xctl-azure-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    const ctx = testContext({ home: dir });
    const code = await main(args, ctx);
    return { code, stdout: ctx.stdout(), stderr: ctx.stderr() };
  };
  const withConfig = async (name: string, lines: string[]) => {
    const p = join(dir, name);
    await writeFile(p, ['version: v1', 'db_service:', ...lines].join('\n') + '\n');
    return p;
  };

  it('writes a discovery matcher from --azure-redis-discovery, --azure-subscription, --azure-resource-group and --labels', async () => {
    const r = await run(['db', 'configure', 'create', '--token=t0k3n', '--proxy=xport.example.com:3080', '--azure-redis-discovery=eastus,westeurope', `--azure-subscription=${SUB}`, '--azure-resource-group=rg-cache', '--labels=env=dev']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The generated file is a config xctl start accepts, with exactly the asked scope.
    const c = parseConfig(r.stdout);
    expect(c.db.azure).toEqual([{ types: ['redis', 'redis-enterprise'], regions: ['eastus', 'westeurope'], subscriptions: [SUB], resourceGroups: ['rg-cache'], tags: { env: 'dev' } }]);
  });

  it('discovers in every subscription and resource group by default (seed: --azure-redis-discovery=eastus)', async () => {
    const r = await run(['db', 'configure', 'create', '--token=t', '--proxy=p.example.com:3080', '--azure-redis-discovery=*']);
    expect(parseConfig(r.stdout).db.azure).toEqual([{ types: ['redis', 'redis-enterprise'], regions: ['*'], subscriptions: ['*'], resourceGroups: ['*'], tags: { '*': '*' } }]);
  });

  it('refuses the scope flags without --azure-redis-discovery', async () => {
    const r = await run(['db', 'configure', 'create', '--token=t', '--proxy=p.example.com:3080', '--azure-subscription=x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--azure-subscription and --azure-resource-group need --azure-redis-discovery/);
  });

  it('prints a custom role with exactly the actions a discovery config needs', async () => {
    const cfg = await withConfig('discover.yaml', ['  azure:', "    - { types: [redis, redis-enterprise], regions: [eastus], subscriptions: ['*'] }"]);
    const r = await run(['-c', cfg, 'db', 'configure', 'bootstrap', '--azure', '--manual']);
    expect(r.code).toBe(0);
    const role = JSON.parse(r.stdout);
    expect(role).toEqual({
      properties: {
        roleName: 'XportDatabaseService',
        description: expect.any(String),
        assignableScopes: ['/subscriptions/<subscription>'],
        permissions: [
          {
            actions: [
              'Microsoft.Cache/redis/listKeys/action',
              'Microsoft.Cache/redis/read',
              'Microsoft.Cache/redisEnterprise/databases/listKeys/action',
              'Microsoft.Cache/redisEnterprise/databases/read',
              'Microsoft.Cache/redisEnterprise/read',
              'Microsoft.Resources/subscriptions/read',
            ],
            notActions: [],
            dataActions: [],
            notDataActions: [],
          },
        ],
      },
    });
    expect(r.stderr).toMatch(/az role definition create --role-definition @XportDatabaseService\.json/);
  });

  it('leaves out listKeys for Entra ID and subscriptions read for named subscriptions', async () => {
    const cfg = await withConfig('entra.yaml', ['  azure:', `    - { types: [redis], regions: ['*'], subscriptions: ['${SUB}'], auth: entra_id }`]);
    const role = JSON.parse((await run(['-c', cfg, 'db', 'configure', 'bootstrap', '--azure', '--manual'])).stdout);
    expect(role.properties.permissions[0].actions).toEqual(['Microsoft.Cache/redis/read']);
    expect(role.properties.assignableScopes).toEqual([`/subscriptions/${SUB}`]);
  });

  it('asks only listKeys for a static access-key database, and nothing for a static Entra ID one', async () => {
    const keys = await withConfig('static.yaml', ['  databases:', `    - { name: c, protocol: redis, uri: 'c.redis.cache.windows.net:6380', azure: { resource_id: '${ID}' } }`]);
    const role = JSON.parse((await run(['-c', keys, 'db', 'configure', 'bootstrap', '--azure', '--manual'])).stdout);
    expect(role.properties.permissions[0].actions).toEqual(['Microsoft.Cache/redis/listKeys/action']);
    const entra = await withConfig('static-entra.yaml', ['  databases:', `    - { name: c, protocol: redis, uri: 'c.redis.cache.windows.net:6380', azure: { resource_id: '${ID}', auth: entra_id } }`]);
    const none = await run(['-c', entra, 'db', 'configure', 'bootstrap', '--azure', '--manual']);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/needs no Azure permissions/);
  });

  it('bootstraps AWS unless --azure is given (one bootstrap command for both clouds)', async () => {
    const r = await run(['db', 'configure', 'bootstrap']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--attach-to-user or --attach-to-role/);
  });
});

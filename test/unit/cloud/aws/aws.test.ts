import { describe, expect, it } from 'vitest';
import { iamAuthToken } from '../../../../src/cloud/aws/iam-token.js';
import { awsError } from '../../../../src/cloud/aws/errors.js';
import { databaseName, tagsMatch } from '../../../../src/cloud/aws/discovery.js';
import { isManagedTagged } from '../../../../src/cloud/aws/directory.js';
import { newPassword, secretNameFor, uuidFrom } from '../../../../src/cloud/aws/managed.js';
import { actionsOf, nameOf, policyFor } from '../../../../src/cloud/aws/bootstrap.js';
import type { AwsDatabase } from '../../../../src/db/cloud.js';

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const at = new Date('2026-01-02T03:04:05Z');

describe('IAM auth token', () => {
  it('presigns connect for the lower-cased target with host signed and a 900 s expiry', async () => {
    const t = await iamAuthToken({ service: 'elasticache', region: 'us-east-1', target: 'My-Group', user: 'iam-user', credentials: creds, now: at });
    expect(t.startsWith('my-group/?')).toBe(true);
    const q = new URLSearchParams(t.slice(t.indexOf('?') + 1));
    expect(q.get('Action')).toBe('connect');
    expect(q.get('User')).toBe('iam-user');
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20260102/us-east-1/elasticache/aws4_request');
    expect(q.get('X-Amz-Date')).toBe('20260102T030405Z');
    expect(q.get('X-Amz-Expires')).toBe('900');
    expect(q.get('X-Amz-SignedHeaders')).toBe('host');
    expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(t).not.toMatch(/^https?:/);
  });

  it('adds ResourceType for serverless caches and the session token for temporary credentials', async () => {
    const t = await iamAuthToken({ service: 'elasticache', region: 'eu-west-1', target: 'cache', user: 'u', serverless: true, credentials: { ...creds, sessionToken: 'tok/en+=' }, now: at });
    const q = new URLSearchParams(t.slice(t.indexOf('?') + 1));
    expect(q.get('ResourceType')).toBe('ServerlessCache');
    expect(q.get('X-Amz-Security-Token')).toBe('tok/en+=');
  });

  it('signs MemoryDB tokens for the memorydb service, and different inputs sign differently', async () => {
    const a = await iamAuthToken({ service: 'memorydb', region: 'us-east-1', target: 'mdb', user: 'u', credentials: creds, now: at });
    const b = await iamAuthToken({ service: 'memorydb', region: 'us-east-1', target: 'mdb', user: 'v', credentials: creds, now: at });
    expect(a).toContain('%2Fmemorydb%2Faws4_request');
    expect(new URLSearchParams(a.split('?')[1]).get('X-Amz-Signature')).not.toBe(new URLSearchParams(b.split('?')[1]).get('X-Amz-Signature'));
  });
});

describe('AWS errors in our words', () => {
  it('names the missing action and the bootstrap command on AccessDenied', () => {
    const e = awsError({ name: 'AccessDenied', message: 'User: arn:aws:iam::1:user/x is not authorized to perform: elasticache:DescribeUsers on resource: *' }, { action: 'elasticache:DescribeUsers' });
    expect(e.message).toMatch(/^AWS denied elasticache:DescribeUsers .*grant elasticache:DescribeUsers .*xctl db configure bootstrap/);
    expect(e.kind).toBe('access-denied');
  });

  it('prints the trust policy to add when AssumeRole is denied', () => {
    const e = awsError({ name: 'AccessDenied', message: 'not authorized to perform: sts:AssumeRole' }, { action: 'sts:AssumeRole', resource: 'arn:aws:iam::123456789012:role/r', externalId: 'ext' });
    expect(e.message).toContain('"sts:ExternalId":"ext"');
    expect(e.message).toContain('"Action":"sts:AssumeRole"');
  });

  it('says how to give the agent credentials when the chain is empty', () => {
    const e = awsError({ name: 'CredentialsProviderError', message: 'Could not load credentials from any providers' }, { action: 'credentials' });
    expect(e.message).toMatch(/^no AWS credentials found in the default chain .*AWS_PROFILE/);
  });

  it('says which secret cannot be read or written', () => {
    const e = awsError({ name: 'DecryptionFailure', message: 'KMS key disabled' }, { action: 'secretsmanager:GetSecretValue', resource: 'xport/x' });
    expect(e.message).toMatch(/^cannot GetSecretValue the secret xport\/x in AWS Secrets Manager: DecryptionFailure: KMS key disabled; check the secret_store/);
  });
});

describe('discovery rules', () => {
  it('matches tags with wildcards', () => {
    expect(tagsMatch({ '*': '*' }, {})).toBe(true);
    expect(tagsMatch({ env: 'prod' }, { env: 'prod', team: 'a' })).toBe(true);
    expect(tagsMatch({ env: 'prod' }, { env: 'dev' })).toBe(false);
    expect(tagsMatch({ env: '*' }, { team: 'a' })).toBe(false);
    expect(tagsMatch({ env: '*' }, { env: 'x' })).toBe(true);
  });

  it('names databases after the resource, or the name tags, as valid xport names', () => {
    expect(databaseName('My_Group', {})).toBe('my_group');
    expect(databaseName('g', { XportDatabaseName: 'Orders Cache' }, '-reader')).toBe('orders-cache-reader');
    expect(databaseName('g', { TeleportDatabaseName: 'legacy' })).toBe('legacy');
    expect(databaseName('g', { 'teleport.dev/database_name': 'older' })).toBe('older');
  });
});

describe('managed users', () => {
  it('opts in with xport.dev/managed or teleport.dev/managed unless the value says no', () => {
    expect(isManagedTagged({ 'xport.dev/managed': 'true' })).toBe(true);
    expect(isManagedTagged({ 'teleport.dev/managed': '' })).toBe(true);
    expect(isManagedTagged({ 'xport.dev/managed': 'Disabled' })).toBe(false);
    expect(isManagedTagged({ other: 'true' })).toBe(false);
  });

  it('keeps secrets under <prefix><service>/<region>/<account>/user/<name>', () => {
    const aws: AwsDatabase = { region: 'us-east-1', elasticache: { replicationGroupId: 'g' }, secretStore: { keyPrefix: 'team/' } };
    expect(secretNameFor(aws, { name: 'u1', arn: 'arn:aws:elasticache:us-east-1:123456789012:user:u1', authType: 'password', groups: [], tags: {} })).toBe('team/elasticache/us-east-1/123456789012/user/u1');
  });

  it('derives the same ClientRequestToken from the same version, and 128-hex passwords', () => {
    expect(uuidFrom('v1')).toBe(uuidFrom('v1'));
    expect(uuidFrom('v1')).not.toBe(uuidFrom('v2'));
    expect(uuidFrom('v1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newPassword()).toMatch(/^[0-9a-f]{128}$/);
    expect(newPassword()).not.toBe(newPassword());
  });
});

describe('bootstrap policy', () => {
  const ec: AwsDatabase = { region: 'us-east-1', accountId: '123456789012', elasticache: { replicationGroupId: 'g1' }, secretStore: { keyPrefix: 'xport/' } };
  const mdb: AwsDatabase = { region: 'eu-west-1', memorydb: { clusterName: 'm1' }, assumeRoleArn: 'arn:aws:iam::123456789012:role/mdb', externalId: 'e', secretStore: { keyPrefix: 'xport/' } };

  it('grants a static ElastiCache database exactly users, metadata, secrets and Connect on it', () => {
    const p = policyFor({ databases: [{ name: 'a', type: 'elasticache', aws: ec }], matchers: [] });
    expect(actionsOf(p)).toEqual([
      'elasticache:Connect',
      'elasticache:DescribeCacheClusters',
      'elasticache:DescribeReplicationGroups',
      'elasticache:DescribeUsers',
      'elasticache:ListTagsForResource',
      'elasticache:ModifyUser',
      'secretsmanager:CreateSecret',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:TagResource',
    ]);
    const connect = p.Statement.find((s) => s.Action.includes('elasticache:Connect'))!;
    expect(connect.Resource).toEqual(['arn:aws:elasticache:us-east-1:123456789012:replicationgroup:g1', 'arn:aws:elasticache:us-east-1:123456789012:user:*']);
    const secrets = p.Statement.find((s) => s.Action.includes('secretsmanager:PutSecretValue'))!;
    expect(secrets.Resource).toEqual(['arn:aws:secretsmanager:us-east-1:123456789012:secret:xport/*']);
  });

  it('gives the agent identity only AssumeRole for databases reached through a role, and the role the rest', () => {
    const agent = policyFor({ databases: [{ name: 'm', type: 'memorydb', aws: mdb }], matchers: [] });
    expect(actionsOf(agent)).toEqual(['sts:AssumeRole']);
    expect(agent.Statement[0]!.Resource).toEqual(['arn:aws:iam::123456789012:role/mdb']);
    const role = policyFor({ databases: [{ name: 'm', type: 'memorydb', aws: mdb }], matchers: [], targetRoleArn: 'arn:aws:iam::123456789012:role/mdb' });
    expect(actionsOf(role)).toContain('memorydb:Connect');
    expect(actionsOf(role)).not.toContain('sts:AssumeRole');
  });

  it('adds discovery actions per matcher type, and nothing for types it does not name', () => {
    const p = policyFor({ databases: [], matchers: [{ types: ['memorydb'], regions: ['us-east-1'], tags: { '*': '*' } }] });
    const actions = actionsOf(p);
    expect(actions).toEqual(expect.arrayContaining(['memorydb:DescribeClusters', 'memorydb:DescribeSubnetGroups', 'memorydb:ListTags', 'memorydb:Connect', 'memorydb:DescribeUsers', 'memorydb:UpdateUser']));
    expect(actions.some((a) => a.startsWith('elasticache:'))).toBe(false);
  });

  it('reads names out of user and role ARNs', () => {
    expect(nameOf('arn:aws:iam::123456789012:role/path/XportAgent')).toBe('XportAgent');
    expect(nameOf('XportAgent')).toBe('XportAgent');
  });
});

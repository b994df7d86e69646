/**
 * cloud/aws/bootstrap: the IAM policy a database agent needs for its config — exactly the actions
 * its AWS databases and discovery matchers use, and nothing more (`xctl db configure bootstrap`,
 * Teleport's `teleport db configure bootstrap`):
 *
 *  - discovery: elasticache Describe{ReplicationGroups,CacheClusters,CacheSubnetGroups} and
 *    ListTagsForResource; DescribeServerlessCaches; memorydb Describe{Clusters,SubnetGroups}, ListTags;
 *  - serving a database: DescribeUsers and the user tags, the database's metadata (user groups /
 *    ACL, engine version), ModifyUser / UpdateUser for managed users, `elasticache:Connect` /
 *    `memorydb:Connect` on the database and its users;
 *  - Secrets Manager on `<key_prefix>*` (managed users), GetSecretValue on a legacy AUTH token
 *    secret, KMS on a custom key;
 *  - sts:AssumeRole on the roles databases and matchers name.
 *
 * The target identity: when `--attach-to-role` is one of the assume_role_arns, the policy covers
 * only what is reached through that role; otherwise it is the agent's own identity and covers
 * everything reached without a role, plus AssumeRole on the roles.
 */
import type { AwsDatabase, AwsMatcher } from '../../db/cloud.js';

/** PolicyStatement is one IAM policy statement. */
export interface PolicyStatement {
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
}

/** PolicyDocument is an IAM policy. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** BootstrapInput is what the config says about AWS. */
export interface BootstrapInput {
  databases: Array<{ name: string; type: string; aws?: AwsDatabase | undefined }>;
  matchers: AwsMatcher[];
  /** The role the policy is for, when it is one of the assumed roles (ARN). */
  targetRoleArn?: string | undefined;
}

const EC_DISCOVERY = ['elasticache:DescribeReplicationGroups', 'elasticache:DescribeCacheClusters', 'elasticache:DescribeCacheSubnetGroups', 'elasticache:ListTagsForResource'];
const EC_SERVERLESS_DISCOVERY = ['elasticache:DescribeServerlessCaches', 'elasticache:ListTagsForResource'];
const MDB_DISCOVERY = ['memorydb:DescribeClusters', 'memorydb:DescribeSubnetGroups', 'memorydb:ListTags'];
const EC_SERVE = ['elasticache:DescribeUsers', 'elasticache:ListTagsForResource', 'elasticache:ModifyUser'];
const EC_META = ['elasticache:DescribeReplicationGroups', 'elasticache:DescribeCacheClusters'];
const MDB_SERVE = ['memorydb:DescribeUsers', 'memorydb:ListTags', 'memorydb:UpdateUser', 'memorydb:DescribeClusters'];
const SECRETS = ['secretsmanager:DescribeSecret', 'secretsmanager:CreateSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:TagResource'];

function partitionOf(region: string): string {
  return region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}

/** policyFor builds the policy for the target identity. */
export function policyFor(input: BootstrapInput): PolicyDocument {
  const byRole = (role: string | undefined) => (input.targetRoleArn ? role === input.targetRoleArn : role === undefined);
  const statements = new Map<string, Set<string>>(); // resource list (joined) → actions
  const add = (actions: string[], resources: string[]) => {
    const key = [...new Set(resources)].sort().join('\n');
    let s = statements.get(key);
    if (!s) statements.set(key, (s = new Set()));
    for (const a of actions) s.add(a);
  };
  const roles = new Set<string>();
  let serveEc = false;
  let serveMdb = false;
  const secretPrefixes = new Map<string, { partition: string; account: string }>();
  const kmsKeys = new Set<string>();

  for (const m of input.matchers) {
    if (m.assumeRoleArn && !input.targetRoleArn) roles.add(m.assumeRoleArn);
    if (!byRole(m.assumeRoleArn)) continue;
    for (const region of m.regions) {
      const p = partitionOf(region);
      for (const t of m.types) {
        if (t === 'elasticache') {
          add(EC_DISCOVERY, ['*']);
          add(['elasticache:Connect'], [`arn:${p}:elasticache:${region}:*:replicationgroup:*`, `arn:${p}:elasticache:${region}:*:user:*`]);
          serveEc = true;
        } else if (t === 'elasticache-serverless') {
          add(EC_SERVERLESS_DISCOVERY, ['*']);
          add(['elasticache:Connect'], [`arn:${p}:elasticache:${region}:*:serverlesscache:*`, `arn:${p}:elasticache:${region}:*:user:*`]);
          serveEc = true;
        } else {
          add(MDB_DISCOVERY, ['*']);
          add(['memorydb:Connect'], [`arn:${p}:memorydb:${region}:*:cluster/*`, `arn:${p}:memorydb:${region}:*:user/*`]);
          serveMdb = true;
        }
      }
      secretPrefixes.set(`arn:${p}:secretsmanager:${region}:*:secret:xport/*`, { partition: p, account: '*' });
    }
  }
  for (const d of input.databases) {
    const a = d.aws;
    if (!a) continue;
    if (a.assumeRoleArn && !input.targetRoleArn) roles.add(a.assumeRoleArn);
    if (!byRole(a.assumeRoleArn)) continue;
    const p = partitionOf(a.region);
    const account = a.accountId ?? '*';
    if (a.memorydb) {
      serveMdb = true;
      add(['memorydb:Connect'], [`arn:${p}:memorydb:${a.region}:${account}:cluster/${a.memorydb.clusterName}`, `arn:${p}:memorydb:${a.region}:${account}:user/*`]);
    } else if (a.elasticacheServerless) {
      serveEc = true;
      add(['elasticache:DescribeServerlessCaches'], ['*']);
      add(['elasticache:Connect'], [`arn:${p}:elasticache:${a.region}:${account}:serverlesscache:${a.elasticacheServerless.cacheName}`, `arn:${p}:elasticache:${a.region}:${account}:user:*`]);
    } else if (a.elasticache) {
      serveEc = true;
      add(EC_META, ['*']);
      add(['elasticache:Connect'], [`arn:${p}:elasticache:${a.region}:${account}:replicationgroup:${a.elasticache.replicationGroupId}`, `arn:${p}:elasticache:${a.region}:${account}:user:*`]);
    }
    const prefix = a.secretStore?.keyPrefix ?? 'xport/';
    secretPrefixes.set(`arn:${p}:secretsmanager:${a.region}:${account}:secret:${prefix}*`, { partition: p, account });
    if (a.secretStore?.kmsKeyId) kmsKeys.add(a.secretStore.kmsKeyId);
    if (a.authTokenSecret) {
      const arn = a.authTokenSecret.startsWith('arn:') ? a.authTokenSecret : `arn:${p}:secretsmanager:${a.region}:${account}:secret:${a.authTokenSecret}-*`;
      add(['secretsmanager:GetSecretValue'], [arn]);
    }
  }
  if (serveEc) add([...EC_SERVE, ...EC_META], ['*']);
  if (serveMdb) add(MDB_SERVE, ['*']);
  if (serveEc || serveMdb) add(SECRETS, [...secretPrefixes.keys()]);
  if (kmsKeys.size) add(['kms:GenerateDataKey', 'kms:Decrypt'], [...kmsKeys].map((k) => (k.startsWith('arn:') ? k : `arn:aws:kms:*:*:key/${k}`)));
  if (roles.size) add(['sts:AssumeRole'], [...roles]);
  return {
    Version: '2012-10-17',
    Statement: [...statements.entries()].map(([res, actions]) => ({ Effect: 'Allow' as const, Action: [...actions].sort(), Resource: res.split('\n') })),
  };
}

/** actionsOf lists every action a policy allows (sorted, unique). */
export function actionsOf(p: PolicyDocument): string[] {
  return [...new Set(p.Statement.flatMap((s) => s.Action))].sort();
}

/** AttachTarget is the IAM identity the policy is attached to. */
export interface AttachTarget {
  kind: 'user' | 'role';
  /** Name or ARN as given. */
  ref: string;
}

/** nameOf reads the name out of a user or role ARN (or returns the name as given). */
export function nameOf(ref: string): string {
  const m = /^arn:[^:]+:iam::\d{12}:(?:user|role)\/(?:.*\/)?([^/]+)$/.exec(ref);
  return m ? m[1]! : ref;
}

/**
 * applyPolicy creates (or updates to a new default version) the managed policy and attaches it to
 * the user or role. Returns the policy ARN. Uses the caller's own AWS credentials (the SDK chain).
 */
export async function applyPolicy(o: { policyName: string; policy: PolicyDocument; target: AttachTarget; region?: string | undefined }): Promise<string> {
  const { IAMClient, CreatePolicyCommand, CreatePolicyVersionCommand, ListPolicyVersionsCommand, DeletePolicyVersionCommand, AttachUserPolicyCommand, AttachRolePolicyCommand } = await import('@aws-sdk/client-iam');
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const region = o.region ?? 'us-east-1';
  const { awsError } = await import('./errors.js');
  const iam = new IAMClient({ region, maxAttempts: 2 });
  const doc = JSON.stringify(o.policy);
  let arn: string;
  try {
    const out = await iam.send(new CreatePolicyCommand({ PolicyName: o.policyName, PolicyDocument: doc, Description: 'xport database agent (xctl db configure bootstrap)', Tags: [{ Key: 'xport.dev/bootstrap', Value: 'true' }] }));
    arn = out.Policy!.Arn!;
  } catch (err) {
    if ((err as { name?: string }).name !== 'EntityAlreadyExistsException') throw awsError(err, { action: 'iam:CreatePolicy', resource: o.policyName });
    const sts = new STSClient({ region, maxAttempts: 2 });
    const account = (await sts.send(new GetCallerIdentityCommand({})).catch((e: unknown) => Promise.reject(awsError(e, { action: 'sts:GetCallerIdentity' })))).Account;
    arn = `arn:aws:iam::${account}:policy/${o.policyName}`;
    // IAM keeps at most five versions: drop the oldest non-default one before adding ours.
    const versions = (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn })).catch((e: unknown) => Promise.reject(awsError(e, { action: 'iam:ListPolicyVersions', resource: arn })))).Versions ?? [];
    if (versions.length >= 5) {
      const oldest = versions.filter((v) => !v.IsDefaultVersion).sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0))[0];
      if (oldest?.VersionId) await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: oldest.VersionId })).catch((e: unknown) => Promise.reject(awsError(e, { action: 'iam:DeletePolicyVersion', resource: arn })));
    }
    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc, SetAsDefault: true })).catch((e: unknown) => Promise.reject(awsError(e, { action: 'iam:CreatePolicyVersion', resource: arn })));
  }
  const name = nameOf(o.target.ref);
  if (o.target.kind === 'user') {
    await iam.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: arn })).catch((e: unknown) => Promise.reject(awsError(e, { action: 'iam:AttachUserPolicy', resource: name })));
  } else {
    await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: arn })).catch((e: unknown) => Promise.reject(awsError(e, { action: 'iam:AttachRolePolicy', resource: name })));
  }
  return arn;
}

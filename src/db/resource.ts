/**
 * db/resource: dynamic databases (`kind: db`, `xctl create -f db.yaml`) — parsing with errors that
 * name the file, line and key, and conversion to a {@link DatabaseSpec}.
 */
import { LineCounter, parseAllDocuments, isNode } from 'yaml';
import { z } from 'zod';
import { badParameter } from '../errors.js';
import { parseRedisUri, TLS_MODES, type DatabaseSpec, type TlsMode } from './database.js';
import { awsBlockSchema, awsClusterMode, azureBlockSchema, cloudFields, type AwsBlock, type AzureBlock } from './cloud.js';

/** DatabaseResource is a dynamic database as stored (`databases/<name>`) and written by users. */
export interface DatabaseResource {
  kind: 'db';
  version: 'v1';
  metadata: { name: string; description?: string; labels?: Record<string, string> };
  spec: {
    protocol: 'redis';
    uri: string;
    tls?: { mode?: TlsMode; ca_cert?: string; server_name?: string };
    aws?: AwsBlock;
    azure?: AzureBlock;
  };
}

const resourceSchema = z.strictObject({
  kind: z.literal('db'),
  version: z.literal('v1'),
  metadata: z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be lowercase letters, digits, ".", "_" or "-"'),
    description: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.strictObject({
    protocol: z.literal('redis'),
    uri: z.string().min(1),
    tls: z
      .strictObject({
        mode: z.enum(TLS_MODES).optional(),
        ca_cert: z.string().optional(),
        server_name: z.string().optional(),
      })
      .optional(),
    aws: awsBlockSchema.optional(),
    azure: azureBlockSchema.optional(),
  }),
});

/** specFromResource builds a spec from a stored dynamic database. */
export function specFromResource(r: DatabaseResource): DatabaseSpec {
  const { host, port, mode } = parseRedisUri(r.spec.uri);
  return {
    name: r.metadata.name,
    ...(r.metadata.description ? { description: r.metadata.description } : {}),
    protocol: 'redis',
    uri: r.spec.uri,
    host,
    port,
    mode: mode === 'standalone' && !/[?&]mode=/.test(r.spec.uri) && !r.spec.aws && awsClusterMode(host) ? 'cluster' : mode,
    labels: r.metadata.labels ?? {},
    ...cloudFields(r.spec, `db/${r.metadata.name}: spec`, host),
    tls: {
      mode: r.spec.tls?.mode ?? 'verify-full',
      ...(r.spec.tls?.ca_cert ? { caCertPem: r.spec.tls.ca_cert } : {}),
      ...(r.spec.tls?.server_name ? { serverName: r.spec.tls.server_name } : {}),
    },
  };
}

/**
 * parseDatabaseResources reads `kind: db` documents. Errors name the file, line and key, like
 * roles and the config.
 */
export function parseDatabaseResources(text: string, source = 'db.yaml'): DatabaseResource[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc });
  const out: DatabaseResource[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      const pos = e.pos ? lc.linePos(e.pos[0]) : undefined;
      throw badParameter(`${source}:${pos ? `${pos.line}:${pos.col}: ` : ' '}${e.message.split('\n')[0]}`);
    }
    const raw = doc.toJS();
    if (raw === null || raw === undefined) continue;
    const r = resourceSchema.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      let path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
      let what = issue.message;
      if (issue.code === 'unrecognized_keys') {
        path = [...path, issue.keys[0]!];
        what = 'unknown key';
      }
      let line: number | undefined;
      for (let i = path.length; i >= 0 && line === undefined; i--) {
        const node = doc.getIn(path.slice(0, i), true);
        if (isNode(node) && node.range) line = lc.linePos(node.range[0]).line;
      }
      throw badParameter(`${source}:${line ?? '?'}: ${path.join('.')}: ${what}`);
    }
    parseRedisUri(r.data.spec.uri);
    cloudFields(r.data.spec, `${source}: db/${r.data.metadata.name}: spec`);
    out.push(r.data as DatabaseResource);
  }
  if (out.length === 0) throw badParameter(`${source}: no resources found`);
  return out;
}

/** isDatabaseYaml tells whether YAML text holds `kind: db` documents (so `xctl create` can route it). */
export function isDatabaseYaml(text: string): boolean {
  return /^kind:\s*db\s*$/m.test(text);
}

/**
 * test/helpers/azure-endpoints: a local Microsoft Entra ID authority, App Service managed identity
 * endpoint and Azure Resource Manager, over HTTPS with a test CA, answering the real Azure SDK
 * clients with the published REST API's shapes:
 *
 * - authority: `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/oauth2/v2.0/token`
 *   (client credentials of registered service principals);
 * - managed identity (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, App Service API 2019-08-01), for
 *   user-assigned identities by `client_id`;
 * - ARM: `PUT …/Microsoft.Authorization/roleDefinitions/{id}` and `roleAssignments/{id}` (an
 *   assignment adds the role's actions to the principal at that scope), `GET /subscriptions`, `Microsoft.Cache/redis` by subscription and by resource group,
 *   `…/redis/{name}/listKeys` and `regenerateKey`, `Microsoft.Cache/redisEnterprise` clusters by
 *   subscription and resource group, `…/databases`, `…/databases/{db}/listKeys`; lists are paged
 *   with absolute `nextLink`s; every call checks the bearer token this authority issued and the
 *   principal's role assignments, answering 403 `AuthorizationFailed` with Azure's message.
 *
 * Every token issued is reported to `onToken` so a test can keep Redis's ACL in step with it.
 * The server runs in the test process; the agent process trusts the CA through NODE_EXTRA_CA_CERTS.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthority, generateKeyPair } from '../../src/pki/index.js';
import { tmpDir } from './cli.js';

/** Principal is a service principal (client secret) or a user-assigned managed identity. */
export interface Principal {
  clientId: string;
  objectId: string;
  /** Service principals only. */
  secret?: string;
  /** Managed identities only: reachable through the managed identity endpoint. */
  managed?: boolean;
  /** Role assignments: actions allowed at a scope and everything under it. */
  assignments: { scope: string; actions: string[] }[];
}

/** Subscription is an ARM subscription. */
export interface Subscription {
  id: string;
  state: 'Enabled' | 'Warned' | 'PastDue' | 'Disabled' | 'Deleted';
}

/** Cache is a Microsoft.Cache/Redis cache. */
export interface Cache {
  subscription: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  provisioningState?: string;
  hostName: string;
  sslPort: number;
  redisVersion?: string;
  primaryKey: string;
  secondaryKey: string;
  disableAccessKeyAuthentication?: boolean;
}

/** EnterpriseCluster is a Microsoft.Cache/redisEnterprise cluster (Enterprise or Azure Managed Redis) and its databases. */
export interface EnterpriseCluster {
  subscription: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  provisioningState?: string;
  hostName: string;
  redisVersion?: string;
  sku?: string;
  databases: {
    name: string;
    port: number;
    clientProtocol: 'Encrypted' | 'Plaintext';
    clusteringPolicy: 'EnterpriseCluster' | 'OSSCluster' | 'NoCluster';
    provisioningState?: string;
    primaryKey: string;
    secondaryKey: string;
  }[];
}

/** IssuedToken is what {@link AzureEndpoints.onToken} hears about. */
export interface IssuedToken {
  principal: Principal;
  /** `https://management.azure.com` or `https://redis.azure.com`. */
  audience: string;
  token: string;
  expiresOn: Date;
}

/** AzureEndpoints is the running fake. Its state is plain data the test may change at any time. */
export interface AzureEndpoints {
  /** `https://127.0.0.1:PORT` — authority host, ARM endpoint and managed identity endpoint alike. */
  url: string;
  tenant: string;
  /** PEM file of the CA that signed the server certificate (NODE_EXTRA_CA_CERTS for the agent). */
  caFile: string;
  /** The CA, to sign other test servers (Redis) the agent must trust the same way. */
  ca: CertificateAuthority;
  /** Header value the managed identity endpoint expects (IDENTITY_HEADER). */
  identityHeader: string;
  principals: Principal[];
  subscriptions: Subscription[];
  caches: Cache[];
  clusters: EnterpriseCluster[];
  /** Lifetime of Redis tokens in seconds (management tokens live an hour). */
  redisTokenLifetimeSec: number;
  /** Items per page of every list. */
  pageSize: number;
  /** Answer every list with full pages and a nextLink that never ends. */
  endlessPaging: boolean;
  /** Custom roles created through ARM (by id, lower case) and their assignments. */
  roleDefinitions: Map<string, { roleName: string; actions: string[]; assignableScopes: string[] }>;
  roleAssignments: Map<string, { scope: string; principalId: string; roleDefinitionId: string }>;
  /** Every token issued, in order. */
  issued: IssuedToken[];
  /** Requests served, as `METHOD path` (no query), for assertions on paging. */
  requests: string[];
  onToken(listener: (t: IssuedToken) => void | Promise<void>): void;
  /** rotateKey regenerates a key as `regenerateKey` would, and tells the listeners. */
  rotateKey(cache: Cache, which: 'primary' | 'secondary'): Promise<string>;
  onKeyRotated(listener: (cache: Cache, key: string) => void | Promise<void>): void;
  /** env is what an agent needs to use this fake (service principal credentials, CA, managed identity endpoint). */
  env(sp: Principal): Record<string, string>;
  stop(): Promise<void>;
}

const MANAGEMENT = 'https://management.azure.com';
const REDIS = 'https://redis.azure.com';

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-ms-request-id': randomUUID() });
  res.end(text);
}

function armFail(res: ServerResponse, status: number, code: string, message: string): void {
  send(res, status, { error: { code, message } });
}

async function body(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of req) {
    s += chunk;
    if (s.length > 1 << 20) throw new Error('body too large');
  }
  return s;
}

/** startAzureEndpoints starts the fake on a free loopback port. */
export async function startAzureEndpoints(opts: { tenant?: string } = {}): Promise<AzureEndpoints> {
  const tenant = opts.tenant ?? '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const ca = CertificateAuthority.create({ type: 'db', clusterName: 'azure-test' });
  const keys = generateKeyPair();
  const now = Date.now();
  const cert = ca.issue({
    publicKey: keys.publicKey,
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3600_000),
    extKeyUsage: ['serverAuth'],
  });
  const dir = await tmpDir('xport-azure-');
  const caFile = join(dir, 'azure-test-ca.pem');
  await writeFile(caFile, ca.certPem);

  const tokenListeners: ((t: IssuedToken) => void | Promise<void>)[] = [];
  const keyListeners: ((c: Cache, key: string) => void | Promise<void>)[] = [];
  const live = new Map<string, { principal: Principal; audience: string; exp: number }>();

  let url = '';
  const identityHeader = randomBytes(16).toString('hex');
  const state: AzureEndpoints = {
    url: '',
    tenant,
    caFile,
    ca,
    identityHeader,
    principals: [],
    subscriptions: [],
    caches: [],
    clusters: [],
    redisTokenLifetimeSec: 3600,
    pageSize: 2,
    endlessPaging: false,
    roleDefinitions: new Map(),
    roleAssignments: new Map(),
    issued: [],
    requests: [],
    onToken: (l) => void tokenListeners.push(l),
    onKeyRotated: (l) => void keyListeners.push(l),
    async rotateKey(cache, which) {
      const key = randomBytes(32).toString('base64');
      if (which === 'primary') cache.primaryKey = key;
      else cache.secondaryKey = key;
      for (const l of keyListeners) await l(cache, key);
      return key;
    },
    env: (sp) => ({
      AZURE_TENANT_ID: tenant,
      AZURE_CLIENT_ID: sp.clientId,
      AZURE_CLIENT_SECRET: sp.secret ?? '',
      IDENTITY_ENDPOINT: `${url}/msi/token`,
      IDENTITY_HEADER: identityHeader,
      NODE_EXTRA_CA_CERTS: caFile,
    }),
    stop: async () => {},
  };

  const issue = async (principal: Principal, audience: string): Promise<{ token: string; expiresIn: number; expiresOn: Date }> => {
    const lifetime = audience === REDIS ? state.redisTokenLifetimeSec : 3600;
    const iat = Math.floor(Date.now() / 1000);
    const claims = {
      aud: audience,
      iss: `https://sts.windows.net/${tenant}/`,
      iat,
      nbf: iat,
      exp: iat + lifetime,
      oid: principal.objectId,
      sub: principal.objectId,
      appid: principal.clientId,
      tid: tenant,
      uti: randomBytes(8).toString('base64url'),
      ver: '1.0',
    };
    const token = `${b64url({ typ: 'JWT', alg: 'RS256', kid: 'test' })}.${b64url(claims)}.${randomBytes(32).toString('base64url')}`;
    const expiresOn = new Date((iat + lifetime) * 1000);
    live.set(token, { principal, audience, exp: expiresOn.getTime() });
    const t: IssuedToken = { principal, audience, token, expiresOn };
    state.issued.push(t);
    for (const l of tokenListeners) await l(t);
    return { token, expiresIn: lifetime, expiresOn };
  };

  const audienceOf = (scopeOrResource: string): string | undefined => {
    const s = scopeOrResource.replace(/\/\.default$/, '').replace(/\/+$/, '');
    if (s === MANAGEMENT) return MANAGEMENT;
    if (s === REDIS) return REDIS;
    return undefined;
  };

  const allowed = (p: Principal, scope: string, action: string): boolean =>
    p.assignments.some((a) => scope.toLowerCase().startsWith(a.scope.toLowerCase()) && a.actions.some((x) => x === '*' || x.toLowerCase() === action.toLowerCase()));

  const page = <T>(res: ServerResponse, reqUrl: URL, items: T[]) => {
    if (state.endlessPaging && items.length > 0) {
      // A broken or hostile ARM: full pages of the same items, and always another nextLink.
      const value = Array.from({ length: state.pageSize }, (_, i) => items[i % items.length]);
      return send(res, 200, { value, nextLink: new URL(`${reqUrl.pathname}?api-version=${reqUrl.searchParams.get('api-version')}&$skiptoken=again`, url).toString() });
    }
    const skip = Number(reqUrl.searchParams.get('$skiptoken') ?? '0');
    const slice = items.slice(skip, skip + state.pageSize);
    let nextLink: string | undefined;
    if (skip + state.pageSize < items.length) {
      const next = new URL(reqUrl.pathname, url);
      next.searchParams.set('api-version', reqUrl.searchParams.get('api-version') ?? '');
      next.searchParams.set('$skiptoken', String(skip + state.pageSize));
      nextLink = next.toString();
    }
    send(res, 200, { value: slice, ...(nextLink ? { nextLink } : {}) });
  };

  const cacheJson = (c: Cache) => ({
    id: `/subscriptions/${c.subscription}/resourceGroups/${c.resourceGroup}/providers/Microsoft.Cache/Redis/${c.name}`,
    location: c.location,
    name: c.name,
    type: 'Microsoft.Cache/Redis',
    tags: c.tags ?? {},
    properties: {
      provisioningState: c.provisioningState ?? 'Succeeded',
      redisVersion: c.redisVersion ?? '6.0',
      sku: { name: 'Standard', family: 'C', capacity: 1 },
      enableNonSslPort: false,
      minimumTlsVersion: '1.2',
      publicNetworkAccess: 'Enabled',
      redisConfiguration: { maxclients: '1000', 'aad-enabled': c.disableAccessKeyAuthentication ? 'true' : 'false' },
      disableAccessKeyAuthentication: c.disableAccessKeyAuthentication ?? false,
      hostName: c.hostName,
      port: 6379,
      sslPort: c.sslPort,
      instances: [{ sslPort: 15000, nonSslPort: 13000, isMaster: true, isPrimary: true }],
    },
  });
  const clusterId = (c: EnterpriseCluster) => `/subscriptions/${c.subscription}/resourceGroups/${c.resourceGroup}/providers/Microsoft.Cache/redisEnterprise/${c.name}`;
  const clusterJson = (c: EnterpriseCluster) => ({
    id: clusterId(c),
    location: c.location,
    name: c.name,
    type: 'Microsoft.Cache/redisEnterprise',
    tags: c.tags ?? {},
    sku: { name: c.sku ?? 'Enterprise_E10', capacity: 2 },
    properties: {
      provisioningState: c.provisioningState ?? 'Succeeded',
      resourceState: 'Running',
      hostName: c.hostName,
      redisVersion: c.redisVersion ?? '7.2',
      minimumTlsVersion: '1.2',
      highAvailability: 'Enabled',
    },
  });
  const databaseJson = (c: EnterpriseCluster, d: EnterpriseCluster['databases'][number]) => ({
    id: `${clusterId(c)}/databases/${d.name}`,
    name: d.name,
    type: 'Microsoft.Cache/redisEnterprise/databases',
    properties: {
      clientProtocol: d.clientProtocol,
      port: d.port,
      provisioningState: d.provisioningState ?? 'Succeeded',
      resourceState: 'Running',
      clusteringPolicy: d.clusteringPolicy,
      evictionPolicy: 'VolatileLRU',
      accessKeysAuthentication: 'Enabled',
    },
  });

  const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

  const handleArm = async (req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> => {
    const auth = req.headers.authorization ?? '';
    const t = live.get(auth.replace(/^Bearer /, ''));
    if (!t || t.audience !== MANAGEMENT) return armFail(res, 401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    if (t.exp <= Date.now()) return armFail(res, 401, 'ExpiredAuthenticationToken', 'The access token expiry UTC time is earlier than current UTC time.');
    const p = t.principal;
    const path = decodeURIComponent(u.pathname).replace(/\/+$/, '');
    const deny = (action: string, scope: string) =>
      armFail(
        res,
        403,
        'AuthorizationFailed',
        `The client '${p.clientId}' with object id '${p.objectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      );
    const check = (action: string, scope: string): boolean => {
      if (allowed(p, scope, action)) return true;
      deny(action, scope);
      return false;
    };

    if (req.method === 'GET' && path === '/subscriptions') {
      const visible = state.subscriptions.filter((s) => p.assignments.some((a) => a.scope.toLowerCase().startsWith(`/subscriptions/${s.id}`.toLowerCase()) || a.scope === '/'));
      return page(
        res,
        u,
        visible.map((s) => ({
          id: `/subscriptions/${s.id}`,
          subscriptionId: s.id,
          tenantId: tenant,
          displayName: `Subscription ${s.id}`,
          state: s.state,
          subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' },
          authorizationSource: 'RoleBased',
        })),
      );
    }
    let m = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?\/providers\/Microsoft\.Cache\/(redis|redisEnterprise)$/i.exec(path);
    if (req.method === 'GET' && m) {
      const [, sub, rg, type] = m as unknown as [string, string, string | undefined, string];
      const s = state.subscriptions.find((x) => eq(x.id, sub));
      if (!s || s.state === 'Deleted') return armFail(res, 404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`);
      const enterprise = /enterprise/i.test(type);
      const scope = `/subscriptions/${sub}${rg ? `/resourceGroups/${rg}` : ''}`;
      if (!check(enterprise ? 'Microsoft.Cache/redisEnterprise/read' : 'Microsoft.Cache/redis/read', scope)) return;
      if (enterprise) {
        return page(res, u, state.clusters.filter((c) => eq(c.subscription, sub) && (!rg || eq(c.resourceGroup, rg))).map(clusterJson));
      }
      return page(res, u, state.caches.filter((c) => eq(c.subscription, sub) && (!rg || eq(c.resourceGroup, rg))).map(cacheJson));
    }
    m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Cache\/redis\/([^/]+)\/(listKeys|regenerateKey)$/i.exec(path);
    if (req.method === 'POST' && m) {
      const [, sub, rg, name, op] = m as unknown as [string, string, string, string, string];
      const c = state.caches.find((x) => eq(x.subscription, sub) && eq(x.resourceGroup, rg) && eq(x.name, name));
      const scope = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Cache/Redis/${name}`;
      const action = op === 'listKeys' ? 'Microsoft.Cache/redis/listKeys/action' : 'Microsoft.Cache/redis/regenerateKey/action';
      if (!check(action, scope)) return;
      if (!c) return armFail(res, 404, 'ResourceNotFound', `The Resource 'Microsoft.Cache/Redis/${name}' under resource group '${rg}' was not found.`);
      if (op === 'regenerateKey') {
        const { keyType } = JSON.parse((await body(req)) || '{}') as { keyType?: string };
        await state.rotateKey(c, keyType === 'Secondary' ? 'secondary' : 'primary');
      }
      return send(res, 200, { primaryKey: c.primaryKey, secondaryKey: c.secondaryKey });
    }
    m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Cache\/redisEnterprise\/([^/]+)\/databases(?:\/([^/]+)\/(listKeys))?$/i.exec(path);
    if (m) {
      const [, sub, rg, name, db, op] = m as unknown as [string, string, string, string, string | undefined, string | undefined];
      const c = state.clusters.find((x) => eq(x.subscription, sub) && eq(x.resourceGroup, rg) && eq(x.name, name));
      const scope = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Cache/redisEnterprise/${name}`;
      if (req.method === 'GET' && !op) {
        if (!check('Microsoft.Cache/redisEnterprise/databases/read', scope)) return;
        if (!c) return armFail(res, 404, 'ResourceNotFound', `The Resource 'Microsoft.Cache/redisEnterprise/${name}' under resource group '${rg}' was not found.`);
        return page(res, u, c.databases.map((d) => databaseJson(c, d)));
      }
      if (req.method === 'POST' && op === 'listKeys') {
        if (!check('Microsoft.Cache/redisEnterprise/databases/listKeys/action', `${scope}/databases/${db}`)) return;
        const d = c?.databases.find((x) => eq(x.name, db!));
        if (!c || !d) return armFail(res, 404, 'ResourceNotFound', `The Resource 'Microsoft.Cache/redisEnterprise/${name}/databases/${db}' under resource group '${rg}' was not found.`);
        return send(res, 200, { primaryKey: d.primaryKey, secondaryKey: d.secondaryKey });
      }
    }
    m = /^(\/subscriptions\/[^/]+)\/providers\/Microsoft\.Authorization\/(roleDefinitions|roleAssignments)\/([0-9a-f-]{36})$/i.exec(path);
    if (req.method === 'PUT' && m) {
      const [, scope, kind, name] = m as unknown as [string, string, string, string];
      const sent = JSON.parse(await body(req)) as { properties: Record<string, unknown> };
      if (kind === 'roleDefinitions') {
        if (!check('Microsoft.Authorization/roleDefinitions/write', scope)) return;
        const props = sent.properties as { roleName: string; permissions: { actions: string[] }[]; assignableScopes: string[] };
        state.roleDefinitions.set(path.toLowerCase(), { roleName: props.roleName, actions: props.permissions.flatMap((x) => x.actions), assignableScopes: props.assignableScopes });
        return send(res, 201, { id: path, name, type: 'Microsoft.Authorization/roleDefinitions', properties: { ...props, type: 'CustomRole' } });
      }
      if (!check('Microsoft.Authorization/roleAssignments/write', scope)) return;
      const props = sent.properties as { roleDefinitionId: string; principalId: string };
      if (state.roleAssignments.has(path.toLowerCase())) return armFail(res, 409, 'RoleAssignmentExists', 'The role assignment already exists.');
      const def = state.roleDefinitions.get(props.roleDefinitionId.toLowerCase());
      if (!def) return armFail(res, 400, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${props.roleDefinitionId}' does not exist.`);
      const who = state.principals.find((x) => x.objectId === props.principalId);
      if (!who) return armFail(res, 400, 'PrincipalNotFound', `Principal ${props.principalId} does not exist in the directory ${tenant}.`);
      who.assignments.push({ scope, actions: def.actions });
      state.roleAssignments.set(path.toLowerCase(), { scope, principalId: who.objectId, roleDefinitionId: props.roleDefinitionId });
      return send(res, 201, { id: path, name, type: 'Microsoft.Authorization/roleAssignments', properties: { ...props, scope } });
    }
    return armFail(res, 404, 'NotFound', `no route for ${req.method} ${path}`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const u = new URL(req.url ?? '/', url);
    state.requests.push(`${req.method} ${u.pathname}`);
    const path = u.pathname;
    if (req.method === 'GET' && path === `/${tenant}/v2.0/.well-known/openid-configuration`) {
      return send(res, 200, {
        token_endpoint: `${url}/${tenant}/oauth2/v2.0/token`,
        authorization_endpoint: `${url}/${tenant}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${url}/${tenant}/oauth2/v2.0/devicecode`,
        end_session_endpoint: `${url}/${tenant}/oauth2/v2.0/logout`,
        issuer: `${url}/${tenant}/v2.0`,
        jwks_uri: `${url}/${tenant}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        tenant_region_scope: 'NA',
      });
    }
    if (req.method === 'POST' && path === `/${tenant}/oauth2/v2.0/token`) {
      const form = new URLSearchParams(await body(req));
      const p = state.principals.find((x) => x.clientId === form.get('client_id') && x.secret !== undefined);
      if (form.get('grant_type') !== 'client_credentials' || !p || p.secret !== form.get('client_secret')) {
        return send(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215] });
      }
      const audience = audienceOf(form.get('scope') ?? '');
      if (!audience) return send(res, 400, { error: 'invalid_scope', error_description: `AADSTS70011: The provided value for scope ${form.get('scope')} is not valid.` });
      const t = await issue(p, audience);
      return send(res, 200, { token_type: 'Bearer', expires_in: t.expiresIn, ext_expires_in: t.expiresIn, access_token: t.token });
    }
    if (req.method === 'GET' && path === '/msi/token') {
      if (req.headers['x-identity-header'] !== identityHeader) return send(res, 401, { error: 'unauthorized', error_description: 'X-IDENTITY-HEADER is missing or wrong' });
      const clientId = u.searchParams.get('client_id');
      const p = state.principals.find((x) => x.managed && x.clientId === clientId);
      if (!p) return send(res, 400, { statusCode: 400, message: `No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.`, correlationId: randomUUID() });
      const audience = audienceOf(u.searchParams.get('resource') ?? '');
      if (!audience) return send(res, 400, { statusCode: 400, message: 'unknown resource' });
      const t = await issue(p, audience);
      return send(res, 200, {
        access_token: t.token,
        expires_on: String(Math.floor(t.expiresOn.getTime() / 1000)),
        resource: audience,
        token_type: 'Bearer',
        client_id: p.clientId,
      });
    }
    if (path.startsWith('/subscriptions')) return handleArm(req, res, u);
    return send(res, 404, { error: { code: 'NotFound', message: `no route for ${req.method} ${path}` } });
  };

  const server: Server = createServer({ cert: cert.certPem + ca.certPem, key: keys.privateKeyPem }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) armFail(res, 500, 'InternalServerError', err.message);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  state.url = url;
  state.stop = async () => {
    await new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
    await rm(dir, { recursive: true, force: true });
  };
  return state;
}

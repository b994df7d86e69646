/**
 * cloud/azure/bootstrap: create (or update) the custom role of {@link roleDefinition} in each
 * subscription and assign it to the agent's principal, through ARM's Microsoft.Authorization REST
 * API with a token from the same credential chain the agent uses. Ids are derived from the role
 * name and scope, so running bootstrap again updates the role instead of adding another.
 */
import { createHash } from 'node:crypto';
import { accessDenied, badParameter, connectionProblem } from '../../errors.js';
import { objectIdOf } from './entra.js';
import { armError, credentialError } from './errors.js';
import type { AzureRoleDefinition } from './role.js';
import type { AzureClients } from './sdk.js';

const AUTHORIZATION_API_VERSION = '2022-04-01';

/** stableUuid is a UUID-shaped digest, so the same inputs always name the same ARM object. */
export function stableUuid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** AppliedRole says what bootstrap did in one subscription. */
export interface AppliedRole {
  scope: string;
  roleDefinitionId: string;
  assignee: string;
  /** false when the assignment already existed. */
  assigned: boolean;
}

/** applyAzureRole creates the role in each scope and assigns it to assignee (default: the caller's own principal). */
export async function applyAzureRole(clients: AzureClients, role: AzureRoleDefinition, scopes: readonly string[], assignee?: string): Promise<AppliedRole[]> {
  let token: string;
  try {
    const t = await clients.credential().getToken(clients.env.armScope);
    if (!t) throw new Error('no token returned');
    token = t.token;
  } catch (err) {
    throw credentialError(err);
  }
  const principal = assignee ?? objectIdOf(token);
  const call = async (method: 'PUT', path: string, body: unknown): Promise<{ status: number; json: { error?: { code?: string; message?: string } } }> => {
    let res: Response;
    try {
      res = await fetch(`${clients.env.resourceManagerEndpoint}${path}?api-version=${AUTHORIZATION_API_VERSION}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      throw connectionProblem(`cannot reach Azure Resource Manager at ${clients.env.resourceManagerEndpoint}: ${(err as Error).message}`);
    }
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as { error?: { code?: string; message?: string } }) : {} };
  };
  const out: AppliedRole[] = [];
  for (const scope of scopes) {
    if (!/^\/subscriptions\/[^/<>]+$/.test(scope)) throw badParameter(`cannot apply the role at "${scope}"`, { hint: 'Name the subscriptions in the config (subscriptions: [<id>]) or use --manual and assign the role yourself.' });
    const defId = stableUuid(role.properties.roleName, scope);
    const roleDefinitionId = `${scope}/providers/Microsoft.Authorization/roleDefinitions/${defId}`;
    const def = await call('PUT', roleDefinitionId, {
      properties: { ...role.properties, type: 'CustomRole', assignableScopes: [scope] },
    });
    if (def.status >= 300) throw failed('create the custom role', scope, def, 'Microsoft.Authorization/roleDefinitions/write');
    const assignmentId = `${scope}/providers/Microsoft.Authorization/roleAssignments/${stableUuid(roleDefinitionId, principal)}`;
    const as = await call('PUT', assignmentId, { properties: { roleDefinitionId, principalId: principal } });
    if (as.status === 409 && as.json.error?.code === 'RoleAssignmentExists') {
      out.push({ scope, roleDefinitionId, assignee: principal, assigned: false });
      continue;
    }
    if (as.status >= 300) throw failed('assign the custom role', scope, as, 'Microsoft.Authorization/roleAssignments/write');
    out.push({ scope, roleDefinitionId, assignee: principal, assigned: true });
  }
  return out;
}

function failed(what: string, scope: string, r: { status: number; json: { error?: { code?: string; message?: string } } }, action: string) {
  const msg = `could not ${what} at ${scope}: ${r.json.error?.code ?? r.status} ${(r.json.error?.message ?? '').split('\n')[0]}`.trim();
  if (r.status === 403) return accessDenied(msg, { hint: `The identity running xctl needs ${action} (User Access Administrator or Owner), or run with --manual and hand the role to someone who has it.` });
  return connectionProblem(msg);
}

/** visibleSubscriptions lists the enabled subscriptions the caller can see (for matchers with subscriptions: ['*']). */
export async function visibleSubscriptions(clients: AzureClients): Promise<string[]> {
  const subs: string[] = [];
  try {
    for await (const s of clients.subscriptions().subscriptions.list()) {
      if (s.subscriptionId && s.state !== 'Deleted' && s.state !== 'Disabled') subs.push(s.subscriptionId);
    }
  } catch (err) {
    throw armError(err, 'listing Azure subscriptions', 'Microsoft.Resources/subscriptions/read');
  }
  return subs;
}

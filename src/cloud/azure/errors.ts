/**
 * cloud/azure/errors: Azure SDK failures turned into xport errors that say what is missing and
 * what to do (the permission to grant, the variables to set). Messages never carry tokens or keys.
 */
import { accessDenied, connectionProblem, isXError, notFound, type XError } from '../../errors.js';

/** CREDENTIAL_HINT says how DefaultAzureCredential finds an identity (seed: "No credential providers error"). */
export const CREDENTIAL_HINT =
  'Give the agent an Azure identity: on an Azure VM attach a managed identity (set AZURE_CLIENT_ID for a user-assigned one); ' +
  'on AKS use workload identity (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE); ' +
  'elsewhere a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET). Then restart xctl start.';

interface SdkError {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
}

/** isCredentialError tells a failure to get an Entra ID token from other failures. */
export function isCredentialError(err: unknown): boolean {
  const name = (err as SdkError)?.name ?? '';
  return /CredentialUnavailableError|AggregateAuthenticationError|AuthenticationError/.test(name);
}

/** credentialError wraps a token failure with the seed's wording and the variables to set. */
export function credentialError(err: unknown, who = 'DefaultAzureCredential'): XError {
  const detail = firstLine((err as SdkError)?.message ?? String(err));
  return connectionProblem(`${who}: failed to acquire a token. ${detail}`, { hint: CREDENTIAL_HINT, cause: err });
}

/**
 * armError explains an ARM call that failed. `action` is the Azure RBAC action the call needs
 * (`Microsoft.Cache/redis/listKeys/action`), named in the message when ARM says 403.
 */
export function armError(err: unknown, what: string, action: string): XError {
  if (isXError(err)) return err;
  if (isCredentialError(err)) return credentialError(err);
  const e = err as SdkError;
  if (e?.statusCode === 403 || e?.code === 'AuthorizationFailed') {
    return accessDenied(`${what}: the agent's Azure identity lacks permission ${action}`, {
      hint: `Assign the agent's identity a role with ${action} at the resource's scope; xctl db configure bootstrap --azure prints such a role.`,
      cause: err,
    });
  }
  if (e?.statusCode === 404 || e?.code === 'ResourceNotFound' || e?.code === 'SubscriptionNotFound') {
    return notFound(`${what}: not found (${firstLine(e.message ?? '')})`, { hint: 'Check the resource id, resource group and subscription.', cause: err });
  }
  return connectionProblem(`${what}: ${firstLine(e?.message ?? String(err))}`, { cause: err });
}

/** isAccessDeniedOrNotFound tells the per-subscription failures discovery skips (logged) from real outages. */
export function isAccessDeniedOrNotFound(err: unknown): boolean {
  const e = err as SdkError;
  return e?.statusCode === 403 || e?.statusCode === 404 || /AuthorizationFailed|SubscriptionNotFound|ResourceGroupNotFound|NotFound/.test(e?.code ?? '');
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim().slice(0, 400);
}

/**
 * cloud/azure/environment: where the Entra ID authority and ARM live for the configured cloud
 * (public, China, US Government, or a custom pair such as a test's local endpoints), and the
 * options the SDKs need to talk to them. Pure; no SDK.
 */
import type { AzureCloud } from '../../db/cloud.js';

/** REDIS_SCOPE is the Entra ID scope of Azure Cache for Redis / Managed Redis data-plane tokens. */
export const REDIS_SCOPE = 'https://redis.azure.com/.default';

/** AzureEnvironment is what the credential and ARM clients are built with. */
export interface AzureEnvironment {
  authorityHost: string;
  resourceManagerEndpoint: string;
  /** Scope of ARM tokens (`<management endpoint>/.default`). */
  armScope: string;
  /** Off for the public cloud only: instance discovery asks login.microsoftonline.com, which a sovereign or private authority cannot answer. */
  disableInstanceDiscovery: boolean;
}

const PUBLIC_AUTHORITY = 'https://login.microsoftonline.com';
const ARM_SCOPES: Record<string, string> = {
  'https://management.azure.com': 'https://management.azure.com/.default',
  'https://management.chinacloudapi.cn': 'https://management.chinacloudapi.cn/.default',
  'https://management.usgovcloudapi.net': 'https://management.usgovcloudapi.net/.default',
};

/**
 * azureEnvironment resolves the cloud (`AZURE_AUTHORITY_HOST` is already applied to it by the
 * service config). A custom ARM endpoint keeps the public ARM scope: the endpoint is then a private
 * front of ARM (or a test's), which accepts management tokens.
 */
export function azureEnvironment(cloud: AzureCloud): AzureEnvironment {
  const authorityHost = cloud.authorityHost.replace(/\/+$/, '');
  const resourceManagerEndpoint = cloud.resourceManagerEndpoint.replace(/\/+$/, '');
  return {
    authorityHost,
    resourceManagerEndpoint,
    armScope: ARM_SCOPES[resourceManagerEndpoint] ?? 'https://management.azure.com/.default',
    disableInstanceDiscovery: authorityHost !== PUBLIC_AUTHORITY,
  };
}

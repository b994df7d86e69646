/**
 * cloud/aws/sdk: the AWS SDK modules, loaded once with dynamic import() (the architecture rule:
 * an agent serving only self-hosted Redis, and xsh, never load them).
 */
type Sdk = {
  ec: typeof import('@aws-sdk/client-elasticache');
  mdb: typeof import('@aws-sdk/client-memorydb');
  sm: typeof import('@aws-sdk/client-secrets-manager');
  sts: typeof import('@aws-sdk/client-sts');
  iam: typeof import('@aws-sdk/client-iam');
  creds: typeof import('@aws-sdk/credential-providers');
};

let loading: Promise<Sdk> | undefined;

/** sdk resolves with the SDK modules, loading them on first use. */
export function sdk(): Promise<Sdk> {
  loading ??= Promise.all([
    import('@aws-sdk/client-elasticache'),
    import('@aws-sdk/client-memorydb'),
    import('@aws-sdk/client-secrets-manager'),
    import('@aws-sdk/client-sts'),
    import('@aws-sdk/client-iam'),
    import('@aws-sdk/credential-providers'),
  ]).then(([ec, mdb, sm, sts, iam, creds]) => ({ ec, mdb, sm, sts, iam, creds }));
  loading.catch(() => (loading = undefined));
  return loading;
}

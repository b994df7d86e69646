/**
 * cloud/aws/errors: AWS failures as one-line xport errors that say what happened and what to do
 * (issue 9 §4): no credentials in the chain, AccessDenied (naming the missing action; for
 * AssumeRole, the trust policy to add), secrets that cannot be read or written. The advice is in
 * the message itself because the engines put only the message on the wire (`-ERR xport: …`).
 */
import { accessDenied, badParameter, connectionProblem, isXError, notFound, type XError } from '../../errors.js';

/** What the caller was doing, to name in the error. */
export interface AwsErrorContext {
  /** The IAM action, e.g. `elasticache:DescribeUsers`, or `credentials` for the chain itself. */
  action: string;
  resource?: string | undefined;
  externalId?: string | undefined;
}

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** awsError converts an SDK error (or anything thrown) into an XError. XErrors pass through. */
export function awsError(err: unknown, ctx: AwsErrorContext): XError {
  if (isXError(err)) return err;
  const e = (err ?? {}) as SdkError;
  const name = e.name ?? e.Code ?? '';
  const msg = (e.message ?? String(err)).split('\n')[0]!.slice(0, 300);
  if (name === 'CredentialsProviderError' || /Could not load credentials|no valid providers/i.test(msg)) {
    return authLike(
      'no AWS credentials found in the default chain (environment, shared config and AWS_PROFILE, web identity, instance metadata)',
      'give the agent credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in its environment, AWS_PROFILE with ~/.aws files, or an instance/pod role',
    );
  }
  const denied = /AccessDenied|UnauthorizedOperation|not authorized|InvalidClientTokenId|SignatureDoesNotMatch/i.test(`${name} ${msg}`) || e.$metadata?.httpStatusCode === 403;
  if (denied) {
    const action = /perform: ([a-z0-9-]+:[A-Za-z0-9]+)/.exec(msg)?.[1] ?? ctx.action;
    if (action === 'sts:AssumeRole') {
      const trust = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: '<ARN of the agent identity>' },
            Action: 'sts:AssumeRole',
            ...(ctx.externalId ? { Condition: { StringEquals: { 'sts:ExternalId': ctx.externalId } } } : {}),
          },
        ],
      });
      return accessDenied(
        `AWS denied sts:AssumeRole on ${ctx.resource ?? 'the role'} (${msg}); allow sts:AssumeRole on it in the agent identity's policy (xctl db configure bootstrap) and add this trust policy to the role: ${trust}`,
      );
    }
    return accessDenied(
      `AWS denied ${action}${ctx.resource ? ` on ${ctx.resource}` : ''} (${msg}); grant ${action} to the agent's AWS identity: xctl db configure bootstrap -c <config> prints or attaches the policy it needs`,
    );
  }
  if (ctx.action.startsWith('secretsmanager:')) {
    return connectionProblem(`cannot ${ctx.action.slice(15)} the secret ${ctx.resource ?? ''} in AWS Secrets Manager: ${name ? `${name}: ` : ''}${msg}; check the secret_store key_prefix, its KMS key and the agent's secretsmanager permissions`);
  }
  if (/NotFound/.test(name)) return notFound(`${ctx.resource ?? 'AWS resource'} not found (${ctx.action}: ${msg})`);
  if (/InvalidParameter|ValidationException/.test(name)) return badParameter(`${ctx.action}: ${msg}`);
  return connectionProblem(`AWS ${ctx.action} failed: ${name ? `${name}: ` : ''}${msg}`);
}

function authLike(what: string, todo: string): XError {
  return connectionProblem(`${what}; ${todo}`);
}

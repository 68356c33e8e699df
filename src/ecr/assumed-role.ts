import type { STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";
import type { AccountRole } from "../config/config.js";

/** Refresh assumed-role credentials this long before they expire. */
const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * Credentials for an administrator-mapped role, assumed through STS with the default chain's
 * credentials and reused until shortly before they expire. Concurrent callers share one AssumeRole.
 * Only `--account-role` creates these: nothing a pod sends can name a role.
 */
export function assumedRoleCredentials(
  role: AccountRole,
  region: string,
  options: { timeoutMs: number; now?: () => number },
): AwsCredentialIdentityProvider {
  // The STS client is loaded on first use: most installations map no role and never need it.
  let sts: STSClient | undefined;
  const now = options.now ?? Date.now;
  let cached: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const assume = async (): Promise<AwsCredentialIdentity> => {
    const { AssumeRoleCommand, STSClient } = await import("@aws-sdk/client-sts");
    sts ??= new STSClient({
      region,
      maxAttempts: 3,
      requestHandler: { requestTimeout: options.timeoutMs, throwOnRequestTimeout: true },
    });
    const result = await sts.send(
      new AssumeRoleCommand({
        RoleArn: role.roleArn,
        RoleSessionName: "ecr-webhook",
        ExternalId: role.externalId,
        DurationSeconds: 3600,
      }),
      { abortSignal: AbortSignal.timeout(options.timeoutMs * 3) },
    );
    const c = result.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey)
      throw new Error(`STS AssumeRole for ${role.roleArn} returned no credentials`);
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  };
  return async () => {
    if (cached && (!cached.expiration || cached.expiration.getTime() - now() > REFRESH_BEFORE_MS))
      return cached;
    pending ??= assume().finally(() => (pending = undefined));
    cached = await pending;
    return cached;
  };
}

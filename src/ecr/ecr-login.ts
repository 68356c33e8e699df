/**
 * The SDK side of a registry login: one ECR client per (identity, region), and GetAuthorizationToken
 * on ECR or ECR Public turned into a token. One attempt per call; retries and pacing are the
 * caller's (token-calls.ts).
 */
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import type { ECRPUBLICClient } from "@aws-sdk/client-ecr-public";
import type { AwsCredentialIdentityProvider } from "@aws-sdk/types";
import type { AccountRole } from "../config/config.js";
import { ECR_PUBLIC } from "../registry/ecr-registry.js";
import { assumedRoleCredentials } from "./assumed-role.js";

/** A registry login. `password` is a secret: it is written to Secrets and never logged. */
export interface EcrToken {
  readonly password: string;
  readonly expiresAt: Date;
  /** When this process obtained it, by its own clock. */
  readonly issuedAt: Date;
}

/** One GetAuthorizationToken call, its answer decoded. */
export type EcrLogin = () => Promise<EcrToken>;

/** What both GetAuthorizationToken APIs answer with, as far as a token needs it. */
interface AuthorizationData {
  readonly authorizationToken?: string;
  readonly expiresAt?: Date;
}

function tokenOf(data: AuthorizationData | undefined, issuedAt: Date): EcrToken {
  const decoded = Buffer.from(data?.authorizationToken ?? "", "base64").toString("utf8");
  const password = decoded.startsWith("AWS:") ? decoded.slice(4) : "";
  if (!password || !data?.expiresAt) throw new Error("ECR GetAuthorizationToken returned no usable token");
  return { password, expiresAt: data.expiresAt, issuedAt };
}

export interface EcrLogins {
  /** A login to `region`'s private registries as `identity`: the default one, or `role` assumed. */
  privateLogin(identity: string, region: string, role: AccountRole | undefined): EcrLogin;
  /** A login to public.ecr.aws as the default identity. */
  readonly publicLogin: EcrLogin;
}

export function createEcrLogins(options: {
  readonly callTimeoutMs: number;
  readonly now: () => number;
}): EcrLogins {
  const { callTimeoutMs, now } = options;
  const clients = new Map<string, ECRClient>();
  const roleCredentials = new Map<string, AwsCredentialIdentityProvider>();

  const clientFor = (identity: string, region: string, role: AccountRole | undefined): ECRClient => {
    const key = `${identity}|${region}`;
    let client = clients.get(key);
    if (!client) {
      let credentials: AwsCredentialIdentityProvider | undefined;
      if (role) {
        credentials =
          roleCredentials.get(key) ?? assumedRoleCredentials(role, region, { timeoutMs: callTimeoutMs, now });
        roleCredentials.set(key, credentials);
      }
      // Retries are the caller's, so the SDK makes exactly one attempt per call.
      client = new ECRClient({
        region,
        credentials,
        maxAttempts: 1,
        requestHandler: { requestTimeout: callTimeoutMs, throwOnRequestTimeout: true },
      });
      clients.set(key, client);
    }
    return client;
  };

  let publicClient: ECRPUBLICClient | undefined;
  return {
    privateLogin(identity, region, role) {
      const client = clientFor(identity, region, role);
      return async () => {
        const out = await client.send(new GetAuthorizationTokenCommand({}), {
          abortSignal: AbortSignal.timeout(callTimeoutMs),
        });
        return tokenOf(out.authorizationData?.[0], new Date(now()));
      };
    },
    async publicLogin() {
      // Loaded on first use: only --ecr-public needs it.
      const { ECRPUBLICClient, GetAuthorizationTokenCommand } = await import("@aws-sdk/client-ecr-public");
      publicClient ??= new ECRPUBLICClient({
        region: ECR_PUBLIC.region,
        maxAttempts: 1,
        requestHandler: { requestTimeout: callTimeoutMs, throwOnRequestTimeout: true },
      });
      const out = await publicClient.send(new GetAuthorizationTokenCommand({}), {
        abortSignal: AbortSignal.timeout(callTimeoutMs),
      });
      return tokenOf(out.authorizationData, new Date(now()));
    },
  };
}

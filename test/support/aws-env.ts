import type { AwsStandIn } from "./aws/index.js";
import { DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY } from "./aws/identities.js";
import { shiftedClockEnv } from "./clock-env.js";

/** The stand-in's default static keys, as a pod would carry them in its environment. */
export const STAND_IN_KEYS = {
  AWS_ACCESS_KEY_ID: DEFAULT_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: DEFAULT_SECRET_ACCESS_KEY,
};

/** Puts process.env back as `saved` had it: added variables go, changed ones return. */
function restoreTo(saved: NodeJS.ProcessEnv): () => void {
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}

/**
 * The whole environment of a webhook process that tests and benchmarks start (the bundle, as the
 * pod runs it): nothing inherited but PATH and a shifted clock, a kubeconfig (unless there is no
 * cluster), the stand-in's static keys, every AWS endpoint on loopback, no instance-metadata
 * lookups; `extra` last.
 */
export function webhookProcessEnv(
  kubeconfig: string | undefined,
  awsEndpoints: Record<string, string>,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    ...shiftedClockEnv(),
    ...(kubeconfig === undefined ? {} : { KUBECONFIG: kubeconfig }),
    POD_NAMESPACE: "ecr-webhook",
    AWS_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
    ...STAND_IN_KEYS,
    ...awsEndpoints,
    ...extra,
  };
}

/**
 * Points the SDK's own endpoint settings at the stand-in (as an operator would with
 * AWS_ENDPOINT_URL_ECR / _STS), with dummy credentials and no instance-metadata lookups.
 * Returns a function that restores the previous environment.
 */
export function useAwsEndpoints(aws: AwsStandIn): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, aws.endpointEnv(), { AWS_EC2_METADATA_DISABLED: "true", ...STAND_IN_KEYS });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  return restoreTo(saved);
}

/**
 * Every variable through which the SDK's default chain finds credentials, besides the shared files:
 * static keys, a profile, web identity, container (ECS / EKS Pod Identity) credentials.
 */
const CREDENTIAL_SOURCES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_PROFILE",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/**
 * The stand-in's endpoints with `identity` as the ONLY credentials the default chain can find (e.g.
 * AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, or the container-credentials pair): every other source
 * is removed, the shared config and credentials files point at nothing, instance metadata is off.
 * The chain reads these when a client first resolves credentials, so set them before that.
 * Returns a function that restores the previous environment.
 */
export function useAwsIdentity(aws: AwsStandIn, identity: Record<string, string>): () => void {
  const saved = { ...process.env };
  for (const key of CREDENTIAL_SOURCES) delete process.env[key];
  const nowhere = "/nonexistent/ecr-webhook-test/aws";
  Object.assign(process.env, aws.endpointEnv(), identity, {
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: `${nowhere}/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${nowhere}/credentials`,
  });
  return restoreTo(saved);
}

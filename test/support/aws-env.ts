import type { AwsStandIn } from "./aws/index.js";

/**
 * Points the SDK's own endpoint settings at the stand-in (as an operator would with
 * AWS_ENDPOINT_URL_ECR / _STS), with dummy credentials and no instance-metadata lookups.
 * Returns a function that restores the previous environment.
 */
export function useAwsEndpoints(aws: AwsStandIn): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, aws.endpointEnv(), {
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ACCESS_KEY_ID: "AKIDTESTTESTTESTTEST",
    AWS_SECRET_ACCESS_KEY: "test-secret-key-not-real",
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}

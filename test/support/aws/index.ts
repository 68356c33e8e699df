export { startAwsStandIn } from "./server.js";
export {
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCOUNT,
  DEFAULT_SECRET_ACCESS_KEY,
  parseRoleArn,
  serviceAccountToken,
  type ServiceAccountTokenClaims,
} from "./identities.js";
export {
  startPodIdentityAgent,
  type PodIdentityAgent,
  type PodIdentityAgentOptions,
  type PodIdentityRequest,
} from "./pod-identity-agent.js";
export { proxyEndpoint } from "./ecr.js";
export type * from "./types.js";

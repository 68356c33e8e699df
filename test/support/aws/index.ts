export { startAwsStandIn } from "./server.js";
export {
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCOUNT,
  DEFAULT_SECRET_ACCESS_KEY,
  parseRoleArn,
} from "./identities.js";
export { proxyEndpoint } from "./ecr.js";
export type {
  AwsAction,
  AwsCall,
  AwsCallFilter,
  AwsIdentity,
  AwsIdentityInput,
  AwsRoleConfig,
  AwsService,
  AwsStandIn,
  AwsStandInOptions,
  IssuedEcrToken,
} from "./types.js";

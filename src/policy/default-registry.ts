import type { AdmissionPolicy } from "../config/config.js";
import { defaultRegistryFor, type EcrRegistry } from "../registry/ecr-registry.js";

/** The registry every enabled namespace gets without asking, when both defaults are configured. */
export function defaultRegistry(policy: AdmissionPolicy): EcrRegistry | undefined {
  return policy.defaultAccount && policy.defaultRegion
    ? defaultRegistryFor(policy.defaultAccount, policy.defaultRegion)
    : undefined;
}

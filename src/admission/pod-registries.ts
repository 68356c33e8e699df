import type { AdmissionPolicy } from "../config/config.js";
import {
  classifyImage,
  defaultRegistryFor,
  isAccountId,
  isRegionName,
  type EcrRegistry,
} from "../registry/ecr-registry.js";
import { ANNOTATION_ACCOUNT, ANNOTATION_REGION } from "../policy/keys.js";

const CONTAINER_LISTS = ["initContainers", "containers", "ephemeralContainers"] as const;

export interface RegistryNeeds {
  readonly registries: EcrRegistry[];
  readonly warnings: string[];
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** Every image reference in every container list of a pod object, as sent by the API server. */
export function podImages(pod: unknown): string[] {
  const spec = asRecord(asRecord(pod).spec);
  const images: string[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    for (const container of containers) {
      const image = asRecord(container).image;
      if (typeof image === "string") images.push(image);
    }
  }
  return images;
}

export function podAnnotations(pod: unknown): Record<string, string> {
  const annotations = asRecord(asRecord(asRecord(pod).metadata).annotations);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations)) if (typeof value === "string") out[key] = value;
  return out;
}

/**
 * The ECR registries a pod pulls from (public.ecr.aws only with --ecr-public), plus the one its
 * annotations ask for (a missing half falls back to the configured default). Unusable annotations
 * become warnings, never errors: a typo in an annotation must not stop a pod.
 */
export function registriesForPod(pod: unknown, policy: AdmissionPolicy): RegistryNeeds {
  const found = new Map<string, EcrRegistry>();
  const warnings: string[] = [];
  for (const image of podImages(pod)) {
    const result = classifyImage(image);
    if (result.kind === "ecr" || (result.kind === "ecr-public" && policy.ecrPublic))
      found.set(result.registry.host, result.registry);
  }
  const requested = annotationRegistry(podAnnotations(pod), policy, warnings);
  if (requested) found.set(requested.host, requested);
  const registries = [...found.values()].sort((a, b) => a.host.localeCompare(b.host));
  return { registries, warnings };
}

function annotationRegistry(
  annotations: Record<string, string>,
  policy: AdmissionPolicy,
  warnings: string[],
): EcrRegistry | undefined {
  const account = annotations[ANNOTATION_ACCOUNT]?.trim();
  const region = annotations[ANNOTATION_REGION]?.trim();
  if (account === undefined && region === undefined) return undefined;
  if (account !== undefined && !isAccountId(account)) {
    warnings.push(
      `ecr-webhook: annotation ${ANNOTATION_ACCOUNT}="${account}" ignored: not a 12-digit AWS account ID`,
    );
    return undefined;
  }
  if (region !== undefined && !isRegionName(region)) {
    warnings.push(`ecr-webhook: annotation ${ANNOTATION_REGION}="${region}" ignored: not an AWS region name`);
    return undefined;
  }
  const effectiveAccount = account ?? policy.defaultAccount;
  const effectiveRegion = region ?? policy.defaultRegion;
  if (effectiveAccount === undefined || effectiveRegion === undefined) {
    const missing =
      effectiveAccount === undefined
        ? `${ANNOTATION_ACCOUNT} (or --default-account)`
        : `${ANNOTATION_REGION} (or --default-region)`;
    warnings.push(`ecr-webhook: pod annotations name no complete registry: set ${missing}`);
    return undefined;
  }
  const registry = defaultRegistryFor(effectiveAccount, effectiveRegion);
  if (!registry)
    warnings.push(
      `ecr-webhook: no ECR registry exists for account ${effectiveAccount} in ${effectiveRegion}`,
    );
  return registry;
}

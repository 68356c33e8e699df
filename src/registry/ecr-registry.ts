// Decides, for one container image, whether it lives in a private Amazon ECR registry and which one. This
// runs for every container of every admitted pod, so it is pure, does bounded work and never throws: what
// to do about a bad reference is the caller's decision, made from the "invalid" result and its reason.

import { parseReference } from "./reference.js";
import { PARTITION_DNS_SUFFIX, isAccountId, partitionOfRegion, type Partition } from "./regions.js";

export type { Partition } from "./regions.js";
export { isAccountId, isRegionName, partitionOfRegion } from "./regions.js";

export interface EcrRegistry {
  /** 12 digits. */
  account: string;
  /** e.g. us-east-1 */
  region: string;
  partition: Partition;
  /** The registry host exactly as the image names it, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com */
  host: string;
  /**
   * ECR Public: one registry for everyone, so no account ("") and no allow-list applies; its tokens
   * are issued per identity, in us-east-1 only, by a service of its own.
   */
  public?: true;
}

export const ECR_PUBLIC_HOST = "public.ecr.aws";
export const ECR_PUBLIC: Readonly<EcrRegistry> = Object.freeze({
  account: "",
  region: "us-east-1",
  partition: "aws",
  host: ECR_PUBLIC_HOST,
  public: true,
});

export type ImageRegistry =
  | { kind: "ecr"; registry: EcrRegistry }
  | { kind: "ecr-public"; registry: EcrRegistry }
  | { kind: "other"; host: string }
  | { kind: "invalid"; reason: string };

/** A registry host (a key of a pull Secret) back into its registry; undefined when it is not ECR. */
export function registryOfHost(host: string): EcrRegistry | undefined {
  if (host === ECR_PUBLIC_HOST) return ECR_PUBLIC;
  const result = classifyImage(`${host}/x`);
  return result.kind === "ecr" && result.registry.host === host ? result.registry : undefined;
}

/** Where an image without a registry component is pulled from. */
const DOCKER_HUB = "docker.io";

// <account>.<endpoint>.<region>.<suffix>. The region cannot contain a dot, so every part has exactly one
// possible split and the match is linear. Which endpoint/suffix pairs exist, and in which partitions, is
// the table below; the regex only cuts the host into its parts.
const ECR_HOST =
  /^([0-9]{12})\.(dkr\.ecr|dkr\.ecr-fips|dkr-ecr|dkr-ecr-fips)\.([a-z0-9-]{1,32})\.([a-z0-9.-]{1,40})$/;

// The private-registry host forms AWS documents: the ECR endpoints page of the AWS General Reference and
// the ECR user guide's IPv6/dual-stack page, cross-checked against amazon-ecr-credential-helper's pattern. A suffix that
// exists but belongs to another partition than the region (cn-north-1 with amazonaws.com) is not ECR, and
// neither is anything merely resembling these: a look-alike must never receive a pull secret.
const BOTH_US: readonly Partition[] = ["aws", "aws-us-gov"];
const HOST_FORMS: ReadonlyMap<string, readonly Partition[]> = new Map([
  ["dkr.ecr amazonaws.com", BOTH_US],
  ["dkr.ecr-fips amazonaws.com", BOTH_US],
  ["dkr.ecr amazonaws.com.cn", ["aws-cn"]],
  ["dkr.ecr c2s.ic.gov", ["aws-iso"]],
  ["dkr.ecr sc2s.sgov.gov", ["aws-iso-b"]],
  ["dkr.ecr cloud.adc-e.uk", ["aws-iso-e"]],
  ["dkr.ecr csp.hci.ic.gov", ["aws-iso-f"]],
  // Dual-stack (IPv4 + IPv6) endpoints.
  ["dkr-ecr on.aws", BOTH_US],
  ["dkr-ecr-fips on.aws", BOTH_US],
  ["dkr-ecr on.amazonwebservices.com.cn", ["aws-cn"]],
]);

/** The registry a lower-case host names, or undefined when it is not a private ECR host. */
function matchEcrHost(host: string): Omit<EcrRegistry, "host"> | undefined {
  const match = ECR_HOST.exec(host);
  if (match === null) return undefined;
  const [, account = "", endpoint = "", region = "", suffix = ""] = match;
  const partition = partitionOfRegion(region);
  if (partition === undefined) return undefined;
  if (!HOST_FORMS.get(`${endpoint} ${suffix}`)?.includes(partition)) return undefined;
  return { account, region, partition };
}

const invalid = (reason: string): ImageRegistry => ({ kind: "invalid", reason });

export function classifyImage(image: string): ImageRegistry {
  // The type says string, but the value comes from JSON the API server forwarded; be sure, cheaply.
  if (typeof image !== "string") return invalid("The image reference is not a string.");
  const parsed = parseReference(image);
  if (!parsed.ok) return invalid(parsed.reason);
  const { domain, path } = parsed.ref;

  if (domain === undefined) {
    // A bare ECR host ("<account>.dkr.ecr.<region>.amazonaws.com") is grammatically a Docker Hub repository
    // of that name, which nobody means: it is an ECR image with the repository left out.
    if (!path.includes("/") && matchEcrHost(path) !== undefined) {
      return invalid("The image names an ECR registry host but no repository.");
    }
    return { kind: "other", host: DOCKER_HUB };
  }

  // public.ecr.aws pulls anonymously; a token only raises its limits (--ecr-public decides).
  const lower = domain.toLowerCase();
  if (domain === ECR_PUBLIC_HOST) return { kind: "ecr-public", registry: ECR_PUBLIC };
  const registry = matchEcrHost(lower);
  if (registry === undefined) return { kind: "other", host: domain };
  // DNS would resolve it, but the pull secret we would inject is keyed by the lower-case host, and we cannot
  // count on every credential lookup between kubelet and registry folding case. Report it instead of
  // injecting a secret that may silently go unused.
  if (lower !== domain) return invalid("The ECR registry host must be written in lower-case.");
  return { kind: "ecr", registry: { ...registry, host: domain } };
}

export function defaultRegistryFor(account: string, region: string): EcrRegistry | undefined {
  if (!isAccountId(account)) return undefined;
  const partition = partitionOfRegion(region);
  if (partition === undefined) return undefined;
  const host = `${account}.dkr.ecr.${region}.${PARTITION_DNS_SUFFIX[partition]}`;
  return { account, region, partition, host };
}

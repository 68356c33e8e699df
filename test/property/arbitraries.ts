/**
 * fast-check generators shared by the property tests: pods and ServiceAccounts as the API server
 * sends them (typed fields, arbitrary values), image references, and server policies.
 */
import fc from "fast-check";
import {
  ANNOTATION_ACCOUNT,
  ANNOTATION_ADDED_REFERENCE,
  ANNOTATION_ALLOWED_ACCOUNTS,
  ANNOTATION_ALLOWED_REGIONS,
  ANNOTATION_INJECT,
  ANNOTATION_REGION,
} from "../../src/policy/keys.js";

/** Fixed seeds: every run of the suite tries the same cases. */
export const SEED = 20261123;

export const ACCOUNTS = ["123456789012", "210987654321", "000000000001"] as const;

/** Regions and the registry suffixes that exist for them (partition-correct). */
export const REGION_SUFFIXES: readonly (readonly [string, readonly string[]])[] = [
  ["us-east-1", ["dkr.ecr.*.amazonaws.com", "dkr.ecr-fips.*.amazonaws.com", "dkr-ecr.*.on.aws"]],
  ["eu-west-1", ["dkr.ecr.*.amazonaws.com", "dkr-ecr.*.on.aws"]],
  ["ap-southeast-2", ["dkr.ecr.*.amazonaws.com"]],
  ["us-gov-west-1", ["dkr.ecr.*.amazonaws.com", "dkr.ecr-fips.*.amazonaws.com"]],
  ["cn-north-1", ["dkr.ecr.*.amazonaws.com.cn", "dkr-ecr.*.on.amazonwebservices.com.cn"]],
  ["us-iso-east-1", ["dkr.ecr.*.c2s.ic.gov"]],
  ["us-isob-east-1", ["dkr.ecr.*.sc2s.sgov.gov"]],
];

export interface EcrReference {
  image: string;
  account: string;
  region: string;
  host: string;
}

const pathComponent = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]{1,8}$/),
    fc.array(fc.tuple(fc.constantFrom(".", "_", "__", "-", "--"), fc.stringMatching(/^[a-z0-9]{1,6}$/)), {
      maxLength: 2,
    }),
  )
  .map(([head, rest]) => head + rest.map(([sep, part]) => sep + part).join(""));

const repository = fc.array(pathComponent, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"));
const tag = fc.stringMatching(/^\w[\w.-]{0,20}$/);
const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`);

/** A well-formed image reference in a private ECR registry, with what it must classify as. */
export const ecrReference: fc.Arbitrary<EcrReference> = fc
  .tuple(
    fc.oneof(fc.constantFrom(...ACCOUNTS), fc.stringMatching(/^[0-9]{12}$/)),
    fc.constantFrom(...REGION_SUFFIXES),
    fc.nat(),
    repository,
    fc.option(tag, { nil: undefined }),
    fc.option(digest, { nil: undefined }),
  )
  .map(([account, [region, forms], pick, repo, t, d]) => {
    const host = `${account}.${forms[pick % forms.length]!.replace("*", region)}`;
    const image = `${host}/${repo}${t === undefined ? "" : `:${t}`}${d === undefined ? "" : `@${d}`}`;
    return { image, account, region, host };
  });

const otherImage = fc.constantFrom(
  "nginx",
  "nginx:1.27",
  "library/busybox@sha256:" + "a".repeat(64),
  "ghcr.io/org/app:v1",
  "public.ecr.aws/nginx/nginx:latest",
  "localhost:5000/team/app",
  "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/app",
  "123456789012.DKR.ECR.us-east-1.amazonaws.com/app",
  "",
);

/** Any image field a container may carry: ECR, elsewhere, or junk. */
export const image = fc.oneof(
  { weight: 3, arbitrary: ecrReference.map((r) => r.image) },
  { weight: 2, arbitrary: otherImage },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
);

const container = fc.record(
  {
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
    image,
    imagePullPolicy: fc.constantFrom("Always", "IfNotPresent", "Never"),
    args: fc.array(fc.string({ maxLength: 10 }), { maxLength: 2 }),
  },
  { requiredKeys: ["name"] },
);

/** LocalObjectReference: `name` may be absent or empty, exactly as the typed API allows. */
const secretRef = fc.record(
  {
    name: fc.oneof(fc.constantFrom("ecr-pull-secret", "regcred", "other", ""), fc.string({ maxLength: 12 })),
  },
  { requiredKeys: [] },
);

const annotationKey = fc.oneof(
  fc.constantFrom(
    ANNOTATION_ACCOUNT,
    ANNOTATION_REGION,
    ANNOTATION_INJECT,
    ANNOTATION_ADDED_REFERENCE,
    "example.com/a~b",
    "x/y/z",
    "__proto__",
    "constructor",
  ),
  fc.string({ maxLength: 20 }),
);
const annotationValue = fc.oneof(
  fc.constantFrom(...ACCOUNTS, "us-east-1", "eu-west-1", "cn-north-1", "false", "true", "", " 123456789012 "),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
);
const annotations = fc.dictionary(annotationKey, annotationValue, { maxKeys: 5 });

const metadata = fc.record(
  {
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
    generateName: fc.constant("web-"),
    namespace: fc.constant("team-a"),
    labels: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.stringMatching(/^[a-z0-9]{0,8}$/), {
      maxKeys: 3,
    }),
    annotations,
  },
  { requiredKeys: [] },
);

/** A Pod as the API server sends it to a mutating webhook: JSON, typed fields, arbitrary values. */
export const pod = fc
  .record(
    {
      apiVersion: fc.constant("v1"),
      kind: fc.constant("Pod"),
      metadata,
      spec: fc.record(
        {
          containers: fc.array(container, { minLength: 1, maxLength: 4 }),
          initContainers: fc.array(container, { maxLength: 3 }),
          ephemeralContainers: fc.array(container, { maxLength: 2 }),
          imagePullSecrets: fc.array(secretRef, { maxLength: 4 }),
          serviceAccountName: fc.constantFrom("default", "builder"),
          nodeSelector: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), {
            maxKeys: 2,
          }),
        },
        { requiredKeys: ["containers"] },
      ),
    },
    { requiredKeys: ["apiVersion", "kind", "metadata", "spec"] },
  )
  .map((p): any => JSON.parse(JSON.stringify(p)));

/** A ServiceAccount as the API server sends it. */
export const serviceAccount = fc
  .record(
    {
      apiVersion: fc.constant("v1"),
      kind: fc.constant("ServiceAccount"),
      metadata,
      imagePullSecrets: fc.array(secretRef, { maxLength: 4 }),
      secrets: fc.array(fc.record({ name: fc.string({ maxLength: 10 }) }), { maxLength: 2 }),
      automountServiceAccountToken: fc.boolean(),
    },
    { requiredKeys: ["apiVersion", "kind", "metadata"] },
  )
  .map((sa): any => JSON.parse(JSON.stringify(sa)));

/** serve flags that change decisions: secret name, defaults, allow-lists. */
export const policyArgv = fc
  .record(
    {
      secretName: fc.constantFrom("ecr-pull-secret", "regcred"),
      defaultAccount: fc.option(fc.constantFrom(...ACCOUNTS), { nil: undefined }),
      defaultRegion: fc.option(fc.constantFrom("us-east-1", "eu-west-1", "cn-north-1"), { nil: undefined }),
      allowedAccounts: fc.subarray([...ACCOUNTS]),
      allowedRegions: fc.subarray(["us-east-1", "eu-west-1", "us-gov-west-1", "cn-north-1"]),
    },
    { requiredKeys: ["secretName", "allowedAccounts", "allowedRegions"] },
  )
  .map((p) => [
    `--secret-name=${p.secretName}`,
    ...(p.defaultAccount ? [`--default-account=${p.defaultAccount}`] : []),
    ...(p.defaultRegion ? [`--default-region=${p.defaultRegion}`] : []),
    ...(p.allowedAccounts.length ? [`--allowed-accounts=${p.allowedAccounts.join(",")}`] : []),
    ...(p.allowedRegions.length ? [`--allowed-regions=${p.allowedRegions.join(",")}`] : []),
  ]);

/** Annotations of an enabled Namespace: sometimes narrowing what pods may get. */
export const namespaceAnnotations = fc.record(
  {
    [ANNOTATION_ALLOWED_ACCOUNTS]: fc.subarray([...ACCOUNTS]).map((a) => a.join(",")),
    [ANNOTATION_ALLOWED_REGIONS]: fc
      .subarray(["us-east-1", "eu-west-1", "cn-north-1"])
      .map((r) => r.join(", ")),
  },
  { requiredKeys: [] },
);

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  classifyImage,
  registryOfHost,
  defaultRegistryFor,
  isAccountId,
  isRegionName,
  partitionOfRegion,
  type EcrRegistry,
  type Partition,
} from "../../src/registry/ecr-registry.js";

const ACCOUNT = "123456789012";
const SHA = "sha256:" + "0123456789abcdef".repeat(4);

const ecr = (host: string, region: string, partition: Partition, account = ACCOUNT): EcrRegistry => ({
  account,
  region,
  partition,
  host,
});

describe("classifyImage: private ECR", () => {
  it.each<[string, EcrRegistry]>([
    // Standard hosts, with tag / none / digest / tag+digest.
    [
      `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/shop/web:1.4.2`,
      ecr(`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`, "us-east-1", "aws"),
    ],
    [
      `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/shop/worker`,
      ecr(`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`, "us-east-1", "aws"),
    ],
    [
      `210987654321.dkr.ecr.eu-west-1.amazonaws.com/tools/migrate@${SHA}`,
      ecr("210987654321.dkr.ecr.eu-west-1.amazonaws.com", "eu-west-1", "aws", "210987654321"),
    ],
    [
      `${ACCOUNT}.dkr.ecr.ap-southeast-7.amazonaws.com/app:v1@${SHA}`,
      ecr(`${ACCOUNT}.dkr.ecr.ap-southeast-7.amazonaws.com`, "ap-southeast-7", "aws"),
    ],
    [
      `${ACCOUNT}.dkr.ecr.mx-central-1.amazonaws.com/a/b/c/d-e_f.g__h:latest`,
      ecr(`${ACCOUNT}.dkr.ecr.mx-central-1.amazonaws.com`, "mx-central-1", "aws"),
    ],
    [
      `000000000000.dkr.ecr.il-central-1.amazonaws.com/app`,
      ecr("000000000000.dkr.ecr.il-central-1.amazonaws.com", "il-central-1", "aws", "000000000000"),
    ],
    // A path that merely looks like a host is still just a path.
    [
      `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/public.ecr.aws/foo:latest`,
      ecr(`${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com`, "us-west-2", "aws"),
    ],
    // GovCloud shares the commercial suffix.
    [
      `${ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com/app:1`,
      ecr(`${ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com`, "us-gov-west-1", "aws-us-gov"),
    ],
    // FIPS.
    [
      `${ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com/app:1`,
      ecr(`${ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com`, "us-east-1", "aws"),
    ],
    [
      `${ACCOUNT}.dkr.ecr-fips.us-gov-east-1.amazonaws.com/app`,
      ecr(`${ACCOUNT}.dkr.ecr-fips.us-gov-east-1.amazonaws.com`, "us-gov-east-1", "aws-us-gov"),
    ],
    // China.
    [
      `${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1`,
      ecr(`${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn`, "cn-north-1", "aws-cn"),
    ],
    [
      `${ACCOUNT}.dkr.ecr.cn-northwest-1.amazonaws.com.cn/app@${SHA}`,
      ecr(`${ACCOUNT}.dkr.ecr.cn-northwest-1.amazonaws.com.cn`, "cn-northwest-1", "aws-cn"),
    ],
    // ISO partitions.
    [
      `${ACCOUNT}.dkr.ecr.us-iso-east-1.c2s.ic.gov/app:1`,
      ecr(`${ACCOUNT}.dkr.ecr.us-iso-east-1.c2s.ic.gov`, "us-iso-east-1", "aws-iso"),
    ],
    [
      `${ACCOUNT}.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/app`,
      ecr(`${ACCOUNT}.dkr.ecr.us-isob-east-1.sc2s.sgov.gov`, "us-isob-east-1", "aws-iso-b"),
    ],
    [
      `${ACCOUNT}.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk/app`,
      ecr(`${ACCOUNT}.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk`, "eu-isoe-west-1", "aws-iso-e"),
    ],
    [
      `${ACCOUNT}.dkr.ecr.us-isof-south-1.csp.hci.ic.gov/app`,
      ecr(`${ACCOUNT}.dkr.ecr.us-isof-south-1.csp.hci.ic.gov`, "us-isof-south-1", "aws-iso-f"),
    ],
    // Dual-stack.
    [
      `${ACCOUNT}.dkr-ecr.us-east-1.on.aws/app:1`,
      ecr(`${ACCOUNT}.dkr-ecr.us-east-1.on.aws`, "us-east-1", "aws"),
    ],
    [
      `${ACCOUNT}.dkr-ecr-fips.us-west-2.on.aws/app`,
      ecr(`${ACCOUNT}.dkr-ecr-fips.us-west-2.on.aws`, "us-west-2", "aws"),
    ],
    [
      `${ACCOUNT}.dkr-ecr.us-gov-west-1.on.aws/app`,
      ecr(`${ACCOUNT}.dkr-ecr.us-gov-west-1.on.aws`, "us-gov-west-1", "aws-us-gov"),
    ],
    [
      `${ACCOUNT}.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn/app`,
      ecr(`${ACCOUNT}.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn`, "cn-north-1", "aws-cn"),
    ],
  ])("%s", (image, registry) => {
    expect(classifyImage(image)).toEqual({ kind: "ecr", registry });
  });
});

describe("classifyImage: other registries", () => {
  it.each<[string, string]>([
    // Docker Hub, written short and long.
    ["nginx", "docker.io"],
    ["nginx:1.27", "docker.io"],
    ["library/nginx:1.27", "docker.io"],
    [`docker.io/library/nginx@${SHA}`, "docker.io"],
    ["bitnami/redis:7.2@" + SHA, "docker.io"],
    // Other registries.
    ["ghcr.io/x/y", "ghcr.io"],
    ["localhost:5000/x", "localhost:5000"],
    ["localhost/x", "localhost"],
    ["registry.k8s.io/pause:3.10", "registry.k8s.io"],
    ["192.168.1.10:5000/team/app:1", "192.168.1.10:5000"],
    ["[::1]:5000/x", "[::1]:5000"],
    // Upper case is fine in a non-ECR host (DNS folds it; only ECR hosts get a secret keyed by name).
    ["GHCR.IO/x/y", "GHCR.IO"],
    // Look-alikes of ECR Public.
    ["public.ecr.aws.evil.example/nginx", "public.ecr.aws.evil.example"],
    ["ecr.aws/nginx", "ecr.aws"],
    ["PUBLIC.ECR.AWS/nginx", "PUBLIC.ECR.AWS"],
    // Look-alikes.
    [`evil.example/${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/x`, "evil.example"],
    [
      `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.evil.example/x`,
      `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.evil.example`,
    ],
    ["12345678901.dkr.ecr.us-east-1.amazonaws.com/x", "12345678901.dkr.ecr.us-east-1.amazonaws.com"],
    ["1234567890123.dkr.ecr.us-east-1.amazonaws.com/x", "1234567890123.dkr.ecr.us-east-1.amazonaws.com"],
    ["abcdefabcdef.dkr.ecr.us-east-1.amazonaws.com/x", "abcdefabcdef.dkr.ecr.us-east-1.amazonaws.com"],
    [`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.co/x`, `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.co`],
    [`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com:443/x`, `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com:443`],
    [`${ACCOUNT}.ecr.us-east-1.amazonaws.com/x`, `${ACCOUNT}.ecr.us-east-1.amazonaws.com`],
    [`${ACCOUNT}.dkr.ecr.moon-east-1.amazonaws.com/x`, `${ACCOUNT}.dkr.ecr.moon-east-1.amazonaws.com`],
    // Suffix from the wrong partition for the region.
    [`${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com/x`, `${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com`],
    [`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.cn/x`, `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.cn`],
    [`${ACCOUNT}.dkr.ecr.us-gov-west-1.c2s.ic.gov/x`, `${ACCOUNT}.dkr.ecr.us-gov-west-1.c2s.ic.gov`],
    [`${ACCOUNT}.dkr.ecr.us-iso-east-1.amazonaws.com/x`, `${ACCOUNT}.dkr.ecr.us-iso-east-1.amazonaws.com`],
    [
      `${ACCOUNT}.dkr-ecr.us-east-1.on.amazonwebservices.com.cn/x`,
      `${ACCOUNT}.dkr-ecr.us-east-1.on.amazonwebservices.com.cn`,
    ],
    [`${ACCOUNT}.dkr-ecr.cn-north-1.on.aws/x`, `${ACCOUNT}.dkr-ecr.cn-north-1.on.aws`],
    // Endpoint/suffix pairs AWS does not document.
    [`${ACCOUNT}.dkr-ecr.us-east-1.amazonaws.com/x`, `${ACCOUNT}.dkr-ecr.us-east-1.amazonaws.com`],
    [`${ACCOUNT}.dkr.ecr.us-east-1.on.aws/x`, `${ACCOUNT}.dkr.ecr.us-east-1.on.aws`],
    [
      `${ACCOUNT}.dkr.ecr-fips.cn-north-1.amazonaws.com.cn/x`,
      `${ACCOUNT}.dkr.ecr-fips.cn-north-1.amazonaws.com.cn`,
    ],
    // A partition outside the Partition type (AWS European Sovereign Cloud).
    [`${ACCOUNT}.dkr.ecr.eusc-de-east-1.amazonaws.eu/x`, `${ACCOUNT}.dkr.ecr.eusc-de-east-1.amazonaws.eu`],
  ])("%s", (image, host) => {
    expect(classifyImage(image)).toEqual({ kind: "other", host });
  });
});

describe("classifyImage: ECR Public", () => {
  it.each([
    "public.ecr.aws/nginx/nginx:1.27",
    "public.ecr.aws/docker/library/redis@sha256:" + "a".repeat(64),
    "public.ecr.aws/eks-distro/kubernetes/pause:3.9",
  ])("%s is ECR Public: no account, us-east-1", (image) => {
    expect(classifyImage(image)).toEqual({
      kind: "ecr-public",
      registry: { account: "", region: "us-east-1", partition: "aws", host: "public.ecr.aws", public: true },
    });
  });

  it("its Secret key maps back to it; no private host does", () => {
    expect(registryOfHost("public.ecr.aws")).toMatchObject({ public: true, host: "public.ecr.aws" });
    expect(registryOfHost(`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`)?.public).toBeUndefined();
    expect(registryOfHost("public.ecr.aws.evil.example")).toBeUndefined();
  });
});

describe("classifyImage: invalid references", () => {
  it.each<[string, string, RegExp]>([
    ["empty", "", /empty/],
    ["only a space", " ", /whitespace/],
    ["leading space", " nginx", /whitespace/],
    ["trailing newline", "nginx\n", /whitespace/],
    ["upper-case repository", `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/Shop/Web:1`, /lower-case/],
    ["upper-case ECR host", `${ACCOUNT}.DKR.ECR.US-EAST-1.AMAZONAWS.COM/x`, /lower-case/],
    ["mixed-case ECR host", `${ACCOUNT}.dkr.ecr.US-east-1.amazonaws.com/x`, /lower-case/],
    ["upper-case Docker Hub name", "Nginx", /lower-case/],
    ["ECR host alone", `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`, /no repository/],
    ["ECR host and slash", `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/`, /no repository/],
    ["dual-stack ECR host alone", `${ACCOUNT}.dkr-ecr.us-east-1.on.aws`, /no repository/],
    ["empty path component", `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com//x`, /empty component/],
    ["trailing dot in host", `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com./x`, /host/],
    ["empty host label", "evil..example/x", /host/],
    ["URL scheme", "https://ghcr.io/x", /host/],
    ["short digest", "nginx@sha256:abc", /digest/],
    ["upper-case digest hex", "nginx@sha256:" + "ABCDEF0123456789".repeat(4), /digest/],
    ["unknown digest algorithm", "nginx@md5:" + "0".repeat(32), /digest/],
    ["two digests", `nginx@${SHA}@${SHA}`, /digest/],
    ["empty tag", "nginx:", /tag/],
    ["tag starting with a dash", "nginx:-1", /tag/],
    ["tag of 129 characters", "nginx:" + "a".repeat(129), /tag/],
    ["digest only", `@${SHA}`, /no repository name/],
    ["leading separator", "-nginx", /not valid/],
    ["trailing separator", "ghcr.io/x/y_", /not valid/],
    ["non-ASCII", "ngïnx", /not valid/],
    ["emoji host", "🙂.example/app", /host/],
    ["name over 255 characters", "a/".repeat(130) + "b", /255/],
    ["input over 4096 characters", "a".repeat(5000), /4096/],
  ])("%s", (_label, image, reason) => {
    const result = classifyImage(image);
    expect(result.kind).toBe("invalid");
    if (result.kind === "invalid") {
      expect(result.reason).toMatch(reason);
      // One short sentence.
      expect(result.reason).toMatch(/^[A-Z][^.]*\.$/);
    }
  });
});

describe("classifyImage never throws", () => {
  const odd = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ unit: "grapheme", maxLength: 100 }),
    fc.string({ unit: "binary", maxLength: 100 }),
    fc
      .array(fc.constantFrom("/", ":", "@", ".", "-", "_", "a", "A", "1", "[", "]", "sha256", `${ACCOUNT}`), {
        maxLength: 60,
      })
      .map((parts) => parts.join("")),
    fc
      .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }))
      .map(([a, b]) => `${a}${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com${b}`),
  );

  it("on generated odd strings", () => {
    fc.assert(
      fc.property(odd, (image) => {
        const result = classifyImage(image);
        expect(["ecr", "other", "invalid"]).toContain(result.kind);
      }),
      { seed: 20240611, numRuns: 600 },
    );
  });

  it("on inputs built to make a backtracking regex explode", () => {
    const hostile = [
      "a-".repeat(2047) + "A",
      "a.".repeat(2047) + "!",
      "a/".repeat(2047) + "!",
      `${ACCOUNT}.dkr.ecr.` + "a-".repeat(2000) + ".amazonaws.com/x",
      "ghcr.io/" + "a__".repeat(1300) + "!",
      "x:" + "a".repeat(4094),
      "x@sha256:" + "a".repeat(4087),
      "\u0000".repeat(4096),
      "\uD800".repeat(100),
    ];
    for (const image of hostile) {
      expect(classifyImage(image).kind).toBe("invalid");
    }
  });

  it("on values that are not strings at all", () => {
    const values: unknown[] = [undefined, null, 42, {}, ["nginx"]];
    for (const value of values) {
      expect(classifyImage(value as string).kind).toBe("invalid");
    }
  });
});

describe("partitionOfRegion / isRegionName", () => {
  it.each<[string, Partition | undefined]>([
    ["us-east-1", "aws"],
    ["eu-central-2", "aws"],
    ["ap-southeast-7", "aws"],
    ["mx-central-1", "aws"],
    ["il-central-1", "aws"],
    ["ca-west-1", "aws"],
    ["sa-east-1", "aws"],
    ["af-south-1", "aws"],
    ["me-central-1", "aws"],
    ["us-gov-west-1", "aws-us-gov"],
    ["us-gov-east-1", "aws-us-gov"],
    ["cn-north-1", "aws-cn"],
    ["cn-northwest-1", "aws-cn"],
    ["us-iso-east-1", "aws-iso"],
    ["us-iso-west-1", "aws-iso"],
    ["us-isob-east-1", "aws-iso-b"],
    ["eu-isoe-west-1", "aws-iso-e"],
    ["us-isof-south-1", "aws-iso-f"],
    ["us-isof-east-1", "aws-iso-f"],
    ["", undefined],
    ["us-east", undefined],
    ["us-east-0", undefined],
    ["us-east-01", undefined],
    ["US-EAST-1", undefined],
    [" us-east-1", undefined],
    ["us-east-1 ", undefined],
    ["us-gov-1", undefined],
    ["us-moon-1", undefined],
    ["xx-east-1", undefined],
    ["aws-global", undefined],
    ["eusc-de-east-1", undefined],
    ["us-east-1.amazonaws.com", undefined],
    ["us-east-1".repeat(1000), undefined],
  ])("%s → %s", (region, partition) => {
    expect(partitionOfRegion(region)).toBe(partition);
    expect(isRegionName(region)).toBe(partition !== undefined);
  });
});

describe("isAccountId", () => {
  it.each<[string, boolean]>([
    [ACCOUNT, true],
    ["000000000000", true],
    ["12345678901", false],
    ["1234567890123", false],
    ["12345678901a", false],
    [" 12345678901", false],
    ["123456789012\n", false],
    ["１２３４５６７８９０１２", false], // full-width digits
    ["١٢٣٤٥٦٧٨٩٠١٢", false], // Arabic-Indic digits
    ["", false],
  ])("%j → %s", (value, expected) => {
    expect(isAccountId(value)).toBe(expected);
  });
});

describe("defaultRegistryFor", () => {
  it.each<[string, string, EcrRegistry | undefined]>([
    [ACCOUNT, "us-east-1", ecr(`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`, "us-east-1", "aws")],
    [
      ACCOUNT,
      "us-gov-west-1",
      ecr(`${ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com`, "us-gov-west-1", "aws-us-gov"),
    ],
    [
      ACCOUNT,
      "cn-northwest-1",
      ecr(`${ACCOUNT}.dkr.ecr.cn-northwest-1.amazonaws.com.cn`, "cn-northwest-1", "aws-cn"),
    ],
    [
      ACCOUNT,
      "us-iso-west-1",
      ecr(`${ACCOUNT}.dkr.ecr.us-iso-west-1.c2s.ic.gov`, "us-iso-west-1", "aws-iso"),
    ],
    [
      ACCOUNT,
      "us-isob-east-1",
      ecr(`${ACCOUNT}.dkr.ecr.us-isob-east-1.sc2s.sgov.gov`, "us-isob-east-1", "aws-iso-b"),
    ],
    [
      ACCOUNT,
      "eu-isoe-west-1",
      ecr(`${ACCOUNT}.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk`, "eu-isoe-west-1", "aws-iso-e"),
    ],
    [
      ACCOUNT,
      "us-isof-south-1",
      ecr(`${ACCOUNT}.dkr.ecr.us-isof-south-1.csp.hci.ic.gov`, "us-isof-south-1", "aws-iso-f"),
    ],
    ["12345678901", "us-east-1", undefined],
    [ACCOUNT, "us-east", undefined],
    [ACCOUNT, "", undefined],
    ["", "", undefined],
  ])("%s in %s", (account, region, expected) => {
    expect(defaultRegistryFor(account, region)).toEqual(expected);
  });

  it("produces hosts that classifyImage recognises as the same registry", () => {
    for (const region of [
      "us-west-2",
      "us-gov-east-1",
      "cn-north-1",
      "us-iso-east-1",
      "us-isob-east-1",
      "eu-isoe-west-1",
      "us-isof-east-1",
    ]) {
      const registry = defaultRegistryFor(ACCOUNT, region)!;
      expect(classifyImage(`${registry.host}/team/app:1`)).toEqual({ kind: "ecr", registry });
    }
  });
});

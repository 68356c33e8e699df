import { describe, expect, it } from "vitest";
import { boundHosts, recheckHosts } from "../../src/policy/secret-entries.js";
import { buildSecret } from "../../src/secrets/pull-secret.js";
import { enabledNamespace, testConfig } from "../support/fixtures.js";

const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const WEST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const OTHER = "999999999999.dkr.ecr.ap-south-1.amazonaws.com";

describe("every entry re-checked against the rules as they are now", () => {
  const ALL = [EAST, WEST, OTHER];
  it.each<{ what: string; flags: string[]; annotations: Record<string, string>; kept: string[] }>([
    { what: "no rules: every ECR registry stays", flags: [], annotations: {}, kept: ALL },
    {
      what: "a namespace account list",
      flags: [],
      annotations: { "ecr-webhook.io/allowed-accounts": "123456789012" },
      kept: [EAST, WEST],
    },
    {
      what: "a namespace region list",
      flags: [],
      annotations: { "ecr-webhook.io/allowed-regions": "us-east-1" },
      kept: [EAST],
    },
    {
      what: "a server account list",
      flags: ["--allowed-accounts=999999999999"],
      annotations: {},
      kept: [OTHER],
    },
    {
      what: "server and namespace lists both apply",
      flags: ["--allowed-regions=us-east-1,ap-south-1"],
      annotations: { "ecr-webhook.io/allowed-accounts": "999999999999" },
      kept: [OTHER],
    },
  ])("$what", ({ flags, annotations, kept }) => {
    const result = recheckHosts(ALL, enabledNamespace("team-a", annotations), testConfig(flags));
    expect(result.kept).toEqual(kept);
    expect(result.dropped.map((d) => d.host)).toEqual(ALL.filter((h) => !kept.includes(h)));
  });

  it("drops what is not a private ECR registry at all, saying why", () => {
    const hosts = [
      "docker.io",
      "public.ecr.aws",
      "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
      EAST,
    ];
    const result = recheckHosts(hosts, enabledNamespace(), testConfig());
    expect(result.kept).toEqual([EAST]);
    expect(result.dropped).toEqual([
      { host: "docker.io", why: "not a private ECR registry" },
      { host: "public.ecr.aws", why: "ECR Public is not enabled (--ecr-public)" },
      { host: hosts[2], why: "not a private ECR registry" },
    ]);
  });

  it("keeps public.ecr.aws with --ecr-public, even under an account allow-list", () => {
    const config = testConfig(["--ecr-public=true", "--allowed-accounts=123456789012"]);
    const result = recheckHosts(["public.ecr.aws", EAST], enabledNamespace(), config);
    expect(result).toEqual({ kept: ["public.ecr.aws", EAST], dropped: [] });
  });

  it("names the rule that refused an entry", () => {
    const ns = enabledNamespace("team-a", { "ecr-webhook.io/allowed-accounts": "123456789012" });
    expect(recheckHosts([OTHER], ns, testConfig()).dropped).toEqual([
      {
        host: OTHER,
        why: "account 999999999999 is not allowed by namespace team-a annotation ecr-webhook.io/allowed-accounts",
      },
    ]);
  });
});

describe("a bounded Secret", () => {
  const host = (i: number) => `${String(100000000000 + i)}.dkr.ecr.us-east-1.amazonaws.com`;

  it("keeps what is protected, then what was asked for most recently", () => {
    const hosts = [host(1), host(2), host(3), host(4)];
    const asked = new Map([
      [host(1), 10],
      [host(2), 40],
      [host(3), 30],
      [host(4), 20],
    ]);
    const result = boundHosts(hosts, new Set([host(1)]), (h) => asked.get(h) ?? 0, 2);
    expect(result.kept).toEqual([host(1), host(2)]);
    expect(result.evicted).toEqual([host(3), host(4)]);
  });

  it("a flood of 300 hosts never pushes out the protected ones", () => {
    const flood = Array.from({ length: 300 }, (_, i) => host(i + 10));
    const result = boundHosts([EAST, ...flood], new Set([EAST]), (h) => flood.indexOf(h), 50);
    expect(result.kept).toHaveLength(50);
    expect(result.kept[0]).toBe(EAST);
    expect(result.kept.slice(1)).toEqual(flood.slice(-49).reverse());
  });

  it("at the default --max-registries, a Secret of real-size (2.4 KB) tokens stays far below the 1 MiB object limit", () => {
    const max = testConfig().maxRegistries;
    expect(max).toBe(50);
    const at = new Date("2026-11-29T06:00:00Z");
    const entries = new Map(
      Array.from({ length: max }, (_, i) => [
        host(i),
        {
          password: "x".repeat(2_400),
          expiresAt: new Date(at.getTime() + 12 * 3_600_000),
          issuedAt: at,
          requestedAt: at.getTime(),
        },
      ]),
    );
    const bytes = Buffer.byteLength(JSON.stringify(buildSecret("team-a", "ecr-pull-secret", entries)));
    console.log(`pull Secret with ${max} entries of 2.4 KB tokens: ${bytes} bytes`);
    expect(bytes).toBeLessThan(512 * 1024);
  });
});

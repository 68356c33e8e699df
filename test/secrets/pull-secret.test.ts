import { describe, expect, it } from "vitest";
import {
  ANNOTATION_EXPIRIES,
  buildSecret,
  isManaged,
  mergeEntries,
  readEntries,
  staleHosts,
  type RegistryEntry,
} from "../../src/secrets/pull-secret.js";
import { loadApiStatus } from "../support/fixtures.js";

const H1 = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const H2 = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";
const HOUR = 3_600_000;
const NOW = Date.parse("2026-11-23T12:00:00Z");
const entry = (password: string, hoursLeft: number): RegistryEntry => ({
  password,
  expiresAt: new Date(NOW + hoursLeft * HOUR),
});

describe("pull Secret content", () => {
  it("builds a kubernetes.io/dockerconfigjson Secret with username, password, auth and expiries", () => {
    const secret = buildSecret("team-a", "ecr-pull-secret", new Map([[H1, entry("pw1", 12)]]));
    expect(secret.type).toBe("kubernetes.io/dockerconfigjson");
    expect(secret.metadata?.labels).toEqual({ "app.kubernetes.io/managed-by": "ecr-webhook" });
    const config = JSON.parse(Buffer.from(secret.data![".dockerconfigjson"]!, "base64").toString());
    expect(config).toEqual({
      auths: { [H1]: { username: "AWS", password: "pw1", auth: Buffer.from("AWS:pw1").toString("base64") } },
    });
    expect(JSON.parse(secret.metadata!.annotations![ANNOTATION_EXPIRIES]!)).toEqual({
      [H1]: "2026-11-24T00:00:00.000Z",
    });
  });

  it("round-trips entries through the Secret", () => {
    const entries = new Map([
      [H1, entry("pw1", 12)],
      [H2, entry("pw2", 3)],
    ]);
    expect(readEntries(buildSecret("ns", "s", entries))).toEqual(entries);
  });

  it("keeps resourceVersion and foreign labels of the existing Secret", () => {
    const existing = buildSecret("ns", "s", new Map([[H1, entry("old", 1)]]));
    existing.metadata!.resourceVersion = "42";
    existing.metadata!.labels!["team"] = "a";
    const next = buildSecret("ns", "s", new Map([[H1, entry("new", 12)]]), existing);
    expect(next.metadata).toMatchObject({
      resourceVersion: "42",
      labels: { team: "a", "app.kubernetes.io/managed-by": "ecr-webhook" },
    });
  });

  it("never drops an entry when merging", () => {
    const merged = mergeEntries(
      new Map([
        [H1, entry("a", 12)],
        [H2, entry("b", 1)],
      ]),
      new Map([[H2, entry("c", 12)]]),
    );
    expect([...merged.keys()]).toEqual([H1, H2]);
    expect(merged.get(H2)?.password).toBe("c");
  });

  it.each([
    { name: "missing entry", entries: [], stale: [H1] },
    { name: "fresh entry", entries: [[H1, entry("x", 7)]], stale: [] },
    { name: "entry under the minimum TTL", entries: [[H1, entry("x", 5)]], stale: [H1] },
    { name: "expired entry", entries: [[H1, entry("x", -1)]], stale: [H1] },
  ] as { name: string; entries: [string, RegistryEntry][]; stale: string[] }[])(
    "staleHosts: $name",
    ({ entries, stale }) => {
      expect(staleHosts(new Map(entries), [H1], NOW, 6 * HOUR)).toEqual(stale);
    },
  );

  it("treats an entry without a recorded expiry as expired, and survives garbage", () => {
    const secret = buildSecret("ns", "s", new Map([[H1, entry("x", 12)]]));
    delete secret.metadata!.annotations![ANNOTATION_EXPIRIES];
    expect(readEntries(secret).get(H1)?.expiresAt.getTime()).toBe(0);
    expect(readEntries({ data: { ".dockerconfigjson": "!!!" } }).size).toBe(0);
    expect(readEntries({}).size).toBe(0);
  });

  it("recognises only Secrets labelled as managed by ecr-webhook", () => {
    // The recorded Secret carries a managed-by label of another tool.
    expect(isManaged(loadApiStatus("201-secret-created.json"))).toBe(false);
    expect(isManaged(buildSecret("ns", "s", new Map()))).toBe(true);
  });
});

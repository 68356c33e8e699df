/**
 * --ecr-public end to end over the stand-ins: the admission path writes an authenticated
 * public.ecr.aws entry from ECR Public's token, and rotation keeps it fresh like the others.
 */
import { afterEach, describe, expect, it } from "vitest";
import { dockerConfigOf, ENABLED, leakedSecrets, startHarness, type Harness } from "../support/harness.js";
import { HOUR, startRotationRig, type RotationRig } from "../support/rotation-rig.js";

const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const PUBLIC = "public.ecr.aws";

let h: Harness | undefined;
let rig: RotationRig | undefined;
afterEach(async () => {
  if (h) expect(leakedSecrets(h.logs, h.aws)).toEqual([]);
  if (rig) expect(leakedSecrets(rig.logs, rig.aws)).toEqual([]);
  await h?.close();
  await rig?.close();
  h = rig = undefined;
});

const publicOnly = (r: any) => {
  r.request.object.spec.containers = [{ name: "web", image: "public.ecr.aws/nginx/nginx:1.27" }];
};

describe("ECR Public on the admission path", () => {
  it("a pod pulling from public.ecr.aws gets an entry holding ECR Public's token, one call for many pods", async () => {
    h = await startHarness({ argv: ["--ecr-public=true", "--allowed-accounts=999999999999"] });
    for (const ns of ["a", "b", "c"]) h.kube.addNamespace(ns, { labels: ENABLED });
    const answers = await Promise.all(
      ["a", "b", "c", "a", "b", "c"].map((ns) => h!.reviewPod(ns, publicOnly)),
    );
    for (const answer of answers) {
      expect(answer.response.allowed).toBe(true);
      expect(answer.response.warnings).toBeUndefined();
      expect(answer.response.patch).toBeDefined();
    }
    expect(h.aws.calls).toMatchObject([
      { service: "ecr-public", action: "GetAuthorizationToken", region: "us-east-1", status: 200 },
    ]);
    const issued = h.aws.tokens[0]!;
    expect(issued).toMatchObject({ public: true, accessKeyId: "AKIDTESTTESTTESTTEST" });
    for (const ns of ["a", "b", "c"]) {
      const secret: any = h.kube.get("secrets", ns, "ecr-pull-secret");
      expect(dockerConfigOf(secret).auths).toEqual({
        [PUBLIC]: {
          username: "AWS",
          password: issued.password,
          auth: Buffer.from(`AWS:${issued.password}`).toString("base64"),
        },
      });
      const expiries = JSON.parse(secret.metadata.annotations["ecr-webhook.io/expiries"]);
      expect(Date.parse(expiries[PUBLIC])).toBe(issued.expiresAt);
    }
  });

  it("private and public side by side: one token from each service, both entries in one Secret", async () => {
    h = await startHarness({ argv: ["--ecr-public=true"] });
    h.kube.addNamespace("mixed", { labels: ENABLED });
    // The recorded pod pulls from EAST and has a public.ecr.aws sidecar.
    const answer = await h.reviewPod("mixed");
    expect(answer.response.warnings).toBeUndefined();
    expect(h.aws.count({ service: "ecr", region: "us-east-1" })).toBe(1);
    expect(h.aws.count({ service: "ecr-public", region: "us-east-1" })).toBe(1);
    const auths = dockerConfigOf(h.kube.get("secrets", "mixed", "ecr-pull-secret")).auths;
    const byService = (isPublic: boolean) => h!.aws.tokens.find((t) => Boolean(t.public) === isPublic)!;
    expect(auths[EAST]!.password).toBe(byService(false).password);
    expect(auths[PUBLIC]!.password).toBe(byService(true).password);
  });

  it("without --ecr-public nothing changes: no ECR Public call, no public entry", async () => {
    h = await startHarness();
    h.kube.addNamespace("plain", { labels: ENABLED });
    expect((await h.reviewPod("plain", publicOnly)).response.patch).toBeUndefined();
    await h.reviewPod("plain");
    expect(h.aws.count({ service: "ecr-public" })).toBe(0);
    expect(Object.keys(dockerConfigOf(h.kube.get("secrets", "plain", "ecr-pull-secret")).auths)).toEqual([
      EAST,
    ]);
  });
});

describe("ECR Public in rotation", () => {
  it("the public entry is refreshed with the private ones: one ECR Public call for every namespace", async () => {
    rig = await startRotationRig({ argv: ["--ecr-public=true"] });
    for (let i = 0; i < 30; i++) rig.seedSecret(`ns-${i}`, { [EAST]: "old", [PUBLIC]: "old-public" }, 12);
    rig.clock.advance(7 * HOUR);
    const summary = await rig.cycle();
    expect(summary).toMatchObject({ namespaces: 30, refreshed: 30, failed: [], ecrCalls: 2 });
    expect(rig.aws.count({ service: "ecr-public", region: "us-east-1" })).toBe(1);
    const issued = rig.aws.tokens.find((t) => t.public)!;
    for (let i = 0; i < 30; i++) {
      const secret: any = rig.kube.get("secrets", `ns-${i}`, "ecr-pull-secret");
      expect(dockerConfigOf(secret).auths[PUBLIC]!.password).toBe(issued.password);
      const expiries = JSON.parse(secret.metadata.annotations["ecr-webhook.io/expiries"]);
      expect(Date.parse(expiries[PUBLIC]) - rig.clock.now()).toBe(12 * HOUR);
    }
  });

  it("once --ecr-public is off again, the next write drops the public entry", async () => {
    rig = await startRotationRig();
    rig.seedSecret("was-public", { [EAST]: "old", [PUBLIC]: "old-public" }, 12);
    rig.clock.advance(7 * HOUR);
    expect(await rig.cycle()).toMatchObject({ refreshed: 1, failed: [] });
    expect(rig.aws.count({ service: "ecr-public" })).toBe(0);
    const auths = dockerConfigOf(rig.kube.get("secrets", "was-public", "ecr-pull-secret")).auths;
    expect(Object.keys(auths)).toEqual([EAST]);
  });
});

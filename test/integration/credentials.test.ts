import { afterEach, describe, expect, it } from "vitest";
import { decodePatch } from "../support/https-client.js";
import { loadApiStatus } from "../support/fixtures.js";
import type { RecordedRequest } from "../support/kube-api/index.js";
import { managedSecret as writtenByReplica } from "../support/managed-secret.js";
import { dockerConfigOf, ENABLED, leakedSecrets, startHarness, type Harness } from "../support/harness.js";

const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const WEST = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";
const ROLE = "arn:aws:iam::210987654321:role/ecr-pull";

let h: Harness | undefined;
afterEach(async () => {
  if (h) expect(leakedSecrets(h.logs, h.aws)).toEqual([]);
  await h?.close();
  h = undefined;
});

/** A Secret as another ecr-webhook replica would have written it, valid for 10 more hours. */
const managedSecret = (namespace: string, passwords: Record<string, string>) =>
  writtenByReplica(namespace, passwords, new Date(Date.now() + 10 * 3_600_000));

const secretWrites = (h: Harness, verb: "create" | "update") => h.kube.count({ resource: "secrets", verb });

describe("fresh credentials on the admission path", () => {
  it("200 concurrent pod reviews across 20 fresh namespaces: one token, 20 Secrets, every pod patched", async () => {
    h = await startHarness();
    const namespaces = Array.from({ length: 20 }, (_, i) => `fresh-${i}`);
    for (const ns of namespaces) h.kube.addNamespace(ns, { labels: ENABLED });
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => h!.reviewPod(namespaces[i % 20]!)),
    );
    for (const res of responses) {
      expect(res.response.allowed).toBe(true);
      expect(res.response.warnings).toBeUndefined();
      expect(decodePatch(res)).toEqual([
        { op: "add", path: "/spec/imagePullSecrets", value: [{ name: "ecr-pull-secret" }] },
      ]);
    }
    expect(h.aws.count({ service: "ecr", action: "GetAuthorizationToken" })).toBe(1);
    expect(secretWrites(h, "create")).toBe(20);
    expect(secretWrites(h, "update")).toBe(0);
    const password = h.aws.tokens[0]!.password;
    for (const ns of namespaces) {
      const secret = h.kube.get("secrets", ns, "ecr-pull-secret")!;
      expect(secret.type).toBe("kubernetes.io/dockerconfigjson");
      expect((secret.metadata as any).labels["app.kubernetes.io/managed-by"]).toBe("ecr-webhook");
      expect(dockerConfigOf(secret).auths[EAST]).toEqual({
        username: "AWS",
        password,
        auth: Buffer.from(`AWS:${password}`).toString("base64"),
      });
      const expiries = JSON.parse((secret.metadata as any).annotations["ecr-webhook.io/expiries"]);
      expect(Date.parse(expiries[EAST]) - Date.now()).toBeGreaterThan(11 * 3_600_000);
    }
  });

  it("the warm path makes no Kubernetes or AWS request", async () => {
    h = await startHarness();
    h.kube.addNamespace("warm", { labels: ENABLED });
    await h.reviewPod("warm");
    const apiBefore = h.kube.count(
      (r) => r.resource === "secrets" || (r.resource === "namespaces" && r.verb === "get"),
    );
    const awsBefore = h.aws.calls.length;
    for (let i = 0; i < 100; i++) await h.reviewPod("warm");
    expect(
      h.kube.count((r) => r.resource === "secrets" || (r.resource === "namespaces" && r.verb === "get")),
    ).toBe(apiBefore);
    expect(h.aws.calls.length).toBe(awsBefore);
  });

  it("two accounts in two regions: one Secret with both hosts, the mapped role used for its account", async () => {
    h = await startHarness({ argv: [`--account-role=210987654321=${ROLE}`] });
    h.kube.addNamespace("multi", { labels: ENABLED });
    const res = await h.reviewPod("multi", (r) => {
      r.request.object.spec.initContainers = [{ name: "migrate", image: `${WEST}/tools/migrate:1` }];
    });
    expect(res.response.warnings).toBeUndefined();
    const auths = dockerConfigOf(h.kube.get("secrets", "multi", "ecr-pull-secret")).auths;
    expect(Object.keys(auths).sort()).toEqual([EAST, WEST]);
    expect(h.aws.count({ service: "sts", action: "AssumeRole" })).toBe(1);
    const westToken = h.aws.tokens.find((t) => t.region === "eu-west-1")!;
    expect(westToken.account).toBe("210987654321");
    expect(auths[WEST]!.password).toBe(westToken.password);
    expect(h.aws.tokens.find((t) => t.region === "us-east-1")!.account).toBe("123456789012");
  });

  it("a 409 Conflict on update is re-read and retried; other entries are kept", async () => {
    h = await startHarness();
    h.kube.addNamespace("conflict", { labels: ENABLED });
    // A managed Secret that already serves another registry, with an entry that has expired.
    const other = "111122223333.dkr.ecr.us-west-2.amazonaws.com";
    h.kube.put("secrets", "conflict", managedSecret("conflict", { [other]: "kept" }));
    h.kube.conflictNext({ times: 2, match: (r) => r.resource === "secrets" });
    const res = await h.reviewPod("conflict");
    expect(res.response.warnings).toBeUndefined();
    expect(h.kube.requests.filter((r) => r.resource === "secrets" && r.verb === "update").length).toBe(3);
    const auths = dockerConfigOf(h.kube.get("secrets", "conflict", "ecr-pull-secret")).auths;
    expect(auths[other]!.password).toBe("kept");
    expect(auths[EAST]!.password).toBe(h.aws.tokens[0]!.password);
  });

  it("a 409 AlreadyExists on create (another replica won the race) becomes an update", async () => {
    h = await startHarness();
    h.kube.addNamespace("race", { labels: ENABLED });
    const rival = "111122223333.dkr.ecr.us-west-2.amazonaws.com";
    h.kube.failNext({
      status: 409,
      body: loadApiStatus("409-secret-alreadyexists.json"),
      // At the moment our create arrives, another replica's Secret lands first.
      match: (req) => {
        if (req.resource !== "secrets" || req.verb !== "create") return false;
        h!.kube.put("secrets", "race", managedSecret("race", { [rival]: "rival-password" }));
        return true;
      },
    });
    const res = await h.reviewPod("race");
    expect(res.response.warnings).toBeUndefined();
    expect(secretWrites(h, "create")).toBe(1);
    expect(secretWrites(h, "update")).toBe(1);
    const auths = dockerConfigOf(h.kube.get("secrets", "race", "ecr-pull-secret")).auths;
    expect(auths[rival]!.password).toBe("rival-password");
    expect(auths[EAST]!.password).toBe(h.aws.tokens[0]!.password);
  });

  it("a Secret of the same name without the managed-by label is never overwritten", async () => {
    h = await startHarness();
    h.kube.addNamespace("theirs", { labels: ENABLED });
    h.kube.put("secrets", "theirs", {
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/dockerconfigjson",
      metadata: { name: "ecr-pull-secret", namespace: "theirs" },
      data: { ".dockerconfigjson": Buffer.from('{"auths":{}}').toString("base64") },
    });
    const res = await h.reviewPod("theirs");
    expect(res.response.warnings).toEqual([
      "ecr-webhook: pull Secret not ready: Secret theirs/ecr-pull-secret exists and is not managed by ecr-webhook; it is left as is",
    ]);
    expect(decodePatch(res)).toHaveLength(1);
    expect(secretWrites(h, "update") + secretWrites(h, "create")).toBe(0);
    await expect
      .poll(() => h!.kube.listObjects("events", "theirs").map((e: any) => e.reason))
      .toContain("UnmanagedPullSecret");
    const event: any = h.kube
      .listObjects("events", "theirs")
      .find((e: any) => e.reason === "UnmanagedPullSecret");
    // About the Secret, in its namespace: where the namespace's own users look.
    expect(event).toMatchObject({
      type: "Warning",
      involvedObject: { kind: "Secret", namespace: "theirs", name: "ecr-pull-secret" },
    });
    // A second pod is answered from memory: no read storm against someone else's Secret.
    const reads = h.kube.count({ resource: "secrets", verb: "get" });
    await h.reviewPod("theirs");
    expect(h.kube.count({ resource: "secrets", verb: "get" })).toBe(reads);
  });

  it("a Secret deleted behind its back is recreated by the next pod's review, before the answer", async () => {
    h = await startHarness();
    h.kube.addNamespace("gone", { labels: ENABLED });
    await h.reviewPod("gone");
    await h.reviewPod("gone"); // warm: answered from what the webhook knows
    expect(secretWrites(h, "create")).toBe(1);
    h.kube.remove("secrets", "gone", "ecr-pull-secret");
    // The watch tells the webhook; the next review no longer trusts what it wrote.
    await expect
      .poll(async () => {
        await h!.reviewPod("gone");
        return h!.kube.get("secrets", "gone", "ecr-pull-secret") !== undefined;
      })
      .toBe(true);
    expect(secretWrites(h, "create")).toBe(2);
  });

  it("dryRun makes no AWS call and writes nothing, but still returns the patch", async () => {
    h = await startHarness();
    h.kube.addNamespace("dry", { labels: ENABLED });
    const res = await h.reviewPod("dry", (r) => (r.request.dryRun = true));
    expect(decodePatch(res)).toHaveLength(1);
    expect(h.aws.calls).toEqual([]);
    const watching = (r: RecordedRequest) => r.verb === "list" || r.verb === "watch";
    expect(h.kube.count((r) => (r.resource === "secrets" && !watching(r)) || r.resource === "events")).toBe(
      0,
    );
  });

  it("a hanging ECR: the review is answered by the deadline with the reference, the Secret follows", async () => {
    h = await startHarness({ argv: ["--admission-deadline=300ms", "--aws-call-timeout=2s"] });
    h.kube.addNamespace("slow", { labels: ENABLED });
    h.aws.hang("GetAuthorizationToken", true);
    const started = Date.now();
    const res = await h.reviewPod("slow");
    const waited = Date.now() - started;
    expect(waited).toBeLessThan(2_000);
    expect(decodePatch(res)).toHaveLength(1);
    expect(res.response.warnings).toEqual([
      "ecr-webhook: pull Secret not confirmed within 300ms; it is being completed in the background",
    ]);
    await expect
      .poll(() => h!.kube.listObjects("events", "slow").map((e: any) => e.reason))
      .toContain("PullSecretNotReady");
    h.aws.hang("GetAuthorizationToken", false);
    await expect
      .poll(() => h!.kube.get("secrets", "slow", "ecr-pull-secret"), { timeout: 10_000 })
      .toBeDefined();
  });

  it("a terminating namespace is skipped without an error storm", async () => {
    h = await startHarness();
    h.kube.addNamespace("doomed", { labels: ENABLED });
    h.kube.terminateNamespace("doomed");
    const first = await h.reviewPod("doomed");
    expect(first.response.warnings).toEqual([
      "ecr-webhook: pull Secret not ready: namespace doomed is terminating",
    ]);
    const creates = secretWrites(h, "create");
    for (let i = 0; i < 20; i++) await h.reviewPod("doomed");
    expect(secretWrites(h, "create")).toBe(creates);
    expect(creates).toBeLessThanOrEqual(1);
  });

  it("a ServiceAccount in an enabled namespace ensures the default registry", async () => {
    h = await startHarness({ argv: ["--default-account=123456789012", "--default-region=us-east-1"] });
    h.kube.addNamespace("sa", { labels: ENABLED });
    const res = await h.reviewPod("sa", (r) => {
      r.request.kind = { group: "", version: "v1", kind: "ServiceAccount" };
      r.request.object = {
        kind: "ServiceAccount",
        apiVersion: "v1",
        metadata: { name: "builder", namespace: "sa" },
      };
    });
    expect(decodePatch(res)).toEqual([
      { op: "add", path: "/imagePullSecrets", value: [{ name: "ecr-pull-secret" }] },
      {
        op: "add",
        path: "/metadata/annotations",
        value: { "ecr-webhook.io/added-pull-secret": "ecr-pull-secret" },
      },
    ]);
    expect(Object.keys(dockerConfigOf(h.kube.get("secrets", "sa", "ecr-pull-secret")).auths)).toEqual([EAST]);
  });

  it("lists and watches only its own Secret, by name, and only its metadata", async () => {
    h = await startHarness();
    h.kube.addNamespace("rbac", { labels: ENABLED });
    await h.reviewPod("rbac");
    const watches = h.kube.requests.filter(
      (r) => r.resource === "secrets" && (r.verb === "list" || r.verb === "watch"),
    );
    expect(watches.map((r) => r.verb)).toEqual(expect.arrayContaining(["list", "watch"]));
    for (const r of watches) {
      expect(r.namespace).toBeUndefined();
      expect(r.query.fieldSelector).toBe("metadata.name=ecr-pull-secret");
      expect(r.accept).toMatch(/;as=PartialObjectMetadata(List)?;g=meta\.k8s\.io;v=v1/);
    }
  });
});

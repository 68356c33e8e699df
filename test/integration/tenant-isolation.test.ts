/**
 * What a namespace tenant can and cannot widen: entries written into the Secret by hand, a flood of
 * pods naming other accounts, and what a tenant reads in warnings and Events. The whole webhook
 * against the stand-ins (the API server's own rules are proven in the end-to-end suite).
 */
import { afterEach, describe, expect, it } from "vitest";
import { runRotationCycle } from "../../src/controller/rotation.js";
import { dockerConfigOf, ENABLED, leakedSecrets, startHarness, type Harness } from "../support/harness.js";
import { managedSecret } from "../support/managed-secret.js";
import { rotationDepsFor } from "../support/rotation-rig.js";
import { testConfig } from "../support/fixtures.js";

const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const FOREIGN = "999999999999.dkr.ecr.ap-south-1.amazonaws.com";
const ROLE = "arn:aws:iam::210987654321:role/ecr-pull";
const HOUR = 3_600_000;

let h: Harness | undefined;
afterEach(async () => {
  if (h) expect(leakedSecrets(h.logs, h.aws)).toEqual([]);
  await h?.close();
  h = undefined;
});

const hostsOf = (h: Harness, ns: string) =>
  Object.keys(dockerConfigOf(h.kube.get("secrets", ns, "ecr-pull-secret")).auths).sort();

describe("a tenant cannot widen what the rules grant", () => {
  it("an entry written into the Secret by hand is dropped at the next write, never refreshed", async () => {
    h = await startHarness();
    h.kube.addNamespace("team-a", {
      labels: ENABLED,
      annotations: { "ecr-webhook.io/allowed-accounts": "123456789012" },
    });
    // The tenant (edit role: may write Secrets) keeps the managed-by label and adds a registry of its
    // choosing, and one that is not ECR at all; both already expired so that rotation would want them.
    const stale = new Date(Date.now() - HOUR);
    h.kube.put(
      "secrets",
      "team-a",
      managedSecret(
        "team-a",
        { [EAST]: "tenant-east", [FOREIGN]: "tenant-foreign", "docker.io": "x" },
        stale,
      ),
    );
    const { deps } = rotationDepsFor(h.kube.kubeConfig(), testConfig(), Date.now);
    const summary = await runRotationCycle(deps);
    expect(summary).toMatchObject({ namespaces: 1, refreshed: 1, failed: [] });
    expect(hostsOf(h, "team-a")).toEqual([EAST]);
    expect(h.aws.count({ region: "ap-south-1" })).toBe(0);
    const droppedEvent = () =>
      (h!.kube.listObjects("events", "team-a") as any[]).find((e) => e.reason === "PullSecretEntryDropped");
    await expect.poll(droppedEvent).toBeDefined();
    const dropped = droppedEvent();
    expect(dropped.message).toContain(`${FOREIGN} (account 999999999999 is not allowed by namespace team-a`);
    expect(dropped.message).toContain("docker.io (not a private ECR registry)");
  });

  it("tightening an allow-list takes back at the next write what was granted", async () => {
    h = await startHarness();
    h.kube.addNamespace("team-b", { labels: ENABLED });
    await h.reviewPod(
      "team-b",
      (r) =>
        (r.request.object.metadata.annotations = {
          "ecr-webhook.io/account": "999999999999",
          "ecr-webhook.io/region": "ap-south-1",
        }),
    );
    expect(hostsOf(h, "team-b")).toEqual([EAST, FOREIGN].sort());
    h.kube.updateNamespace("team-b", (ns: any) => {
      ns.metadata.annotations = { "ecr-webhook.io/allowed-accounts": "123456789012" };
    });
    const { deps } = rotationDepsFor(h.kube.kubeConfig(), testConfig(), Date.now);
    await runRotationCycle(deps);
    expect(hostsOf(h, "team-b")).toEqual([EAST]);
  });

  it("300 pods naming 300 accounts: the Secret keeps at most --max-registries, the namespace's own registry among them", async () => {
    h = await startHarness({ argv: ["--default-account=123456789012", "--default-region=us-east-1"] });
    h.kube.addNamespace("flood", { labels: ENABLED });
    await h.reviewPod("flood");
    for (let i = 0; i < 300; i++) {
      const account = String(200000000000 + i);
      const res = await h.reviewPod("flood", (r) => {
        r.request.object.spec.containers = [{ name: "c", image: "docker.io/library/busybox:1" }];
        r.request.object.metadata.annotations = { "ecr-webhook.io/account": account };
      });
      expect(res.response.warnings).toBeUndefined();
    }
    const hosts = hostsOf(h, "flood");
    expect(hosts).toHaveLength(50);
    expect(hosts).toContain(EAST);
    // The most recent asks are the ones kept.
    expect(hosts).toContain("200000000299.dkr.ecr.us-east-1.amazonaws.com");
    expect(hosts).not.toContain("200000000000.dkr.ecr.us-east-1.amazonaws.com");
    expect(
      h.kube.count((r) => r.resource === "secrets" && r.verb === "update" && r.namespace === "flood"),
    ).toBe(300);
    await expect
      .poll(() => (h!.kube.listObjects("events", "flood") as any[]).map((e) => e.reason))
      .toContain("PullSecretEntryEvicted");
  });

  it("warnings and Events name the account and region, never the IAM role", async () => {
    h = await startHarness({
      argv: [`--account-role=210987654321=${ROLE}`, "--admission-deadline=3s"],
      aws: { allowUnknownRoles: false },
    });
    h.kube.addNamespace("team-c", { labels: ENABLED });
    const res = await h.reviewPod("team-c", (r) => {
      r.request.object.spec.containers = [
        { name: "c", image: "210987654321.dkr.ecr.eu-west-1.amazonaws.com/app:1" },
      ];
    });
    const warnings: string[] = res.response.warnings;
    expect(warnings.join("\n")).toMatch(/no ECR token for account 210987654321 in eu-west-1: AccessDenied/);
    expect(warnings.join("\n")).not.toContain("arn:aws:iam");
    await expect.poll(() => (h!.kube.listObjects("events", "team-c") as any[]).length).toBeGreaterThan(0);
    for (const event of h.kube.listObjects("events", "team-c") as any[])
      expect(event.message).not.toContain("arn:aws:iam");
    // The operator's log keeps the whole story.
    expect(h.logs.lines.join("\n")).toContain(ROLE);
  });
});

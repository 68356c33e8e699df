import { afterEach, describe, expect, it } from "vitest";
import { kubeEventRecorder, pullSecretEventBody } from "../../src/kube/events.js";
import { createLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { LogCapture } from "../support/harness.js";
import { startKubeApi, type KubeApiStandIn } from "../support/kube-api/index.js";

let kube: KubeApiStandIn | undefined;
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

const warning = { type: "Warning" as const, reason: "UnmanagedPullSecret", message: "not ours" };

describe("Events about the pull Secret", () => {
  it("live in the Secret's namespace and name it as the involved object", () => {
    const body = pullSecretEventBody("team-a", "ecr-pull-secret", warning, {
      at: new Date(0),
      instance: "pod-1",
    });
    expect(body.metadata).toEqual({ generateName: "ecr-pull-secret.", namespace: "team-a" });
    expect(body.involvedObject).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      namespace: "team-a",
      name: "ecr-pull-secret",
    });
  });

  it("are accepted by the API server's Event rule, and deduplicated", async () => {
    kube = await startKubeApi();
    kube.addNamespace("team-a");
    const recorder = kubeEventRecorder(kube.kubeConfig(), {
      secretName: "ecr-pull-secret",
      logger: createLogger("silent"),
    });
    recorder.pullSecretEvent("team-a", warning);
    recorder.pullSecretEvent("team-a", warning);
    await expect.poll(() => kube!.listObjects("events", "team-a").length).toBe(1);
    expect(kube.count({ verb: "create", resource: "events" })).toBe(1);
  });

  it("a refused Event is a warn line with the server's reason and a counted failure", async () => {
    kube = await startKubeApi();
    kube.addNamespace("team-a");
    const logs = new LogCapture();
    const metrics = createMetrics();
    kube.failNext({ status: 403, match: (r) => r.resource === "events" });
    kubeEventRecorder(kube.kubeConfig(), {
      secretName: "ecr-pull-secret",
      logger: createLogger("info", logs),
      metrics,
    }).pullSecretEvent("team-a", warning);
    await expect.poll(() => logs.parsed().filter((l) => l.msg === "could not record Event")).toHaveLength(1);
    expect(logs.parsed()[0]).toMatchObject({
      level: "warn",
      namespace: "team-a",
      reason: "UnmanagedPullSecret",
      code: 403,
    });
    expect(
      await metrics.registry.getSingleMetricAsString("ecr_webhook_event_write_failures_total"),
    ).toContain('code="403"} 1');
  });
});

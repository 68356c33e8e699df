import { describe, expect, it } from "vitest";
import type { CredentialEnsurer, EnsureResult } from "../../src/secrets/credential-ensurer.js";
import { createReviewHandler } from "../../src/admission/handler.js";
import { inMemoryNamespaces, type NamespaceMeta } from "../../src/policy/namespace.js";
import { decodeReview } from "../../src/admission/review.js";
import { silentLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import type { EcrRegistry } from "../../src/registry/ecr-registry.js";
import { enabledNamespace, loadReview, testConfig, type AdmissionFixture } from "../support/fixtures.js";

/** A hand-written ensurer: records calls and answers what the test says, when the test says. */
function fakeEnsurer(answer: () => Promise<EnsureResult>) {
  const calls: { namespace: string; hosts: string[] }[] = [];
  const ensurer: CredentialEnsurer = {
    ensure(namespace: NamespaceMeta, registries: readonly EcrRegistry[]) {
      calls.push({ namespace: namespace.name, hosts: registries.map((r) => r.host) });
      return answer();
    },
  };
  return { ensurer, calls };
}

function setup(answer: () => Promise<EnsureResult>, deadlineMs = 100) {
  const { ensurer, calls } = fakeEnsurer(answer);
  const events: { namespace: string; reason: string; message: string }[] = [];
  const metrics = createMetrics();
  const handle = createReviewHandler({
    policy: testConfig(),
    namespaces: inMemoryNamespaces([enabledNamespace()]),
    logger: silentLogger(),
    metrics,
    ensurer,
    events: {
      pullSecretEvent: (namespace, e) => events.push({ namespace, reason: e.reason, message: e.message }),
    },
    deadlineMs,
  });
  const review = (fixture: AdmissionFixture) => handle(decodeReview(loadReview(fixture)));
  return { review, calls, events, metrics };
}

const counter = async (metrics: ReturnType<typeof createMetrics>, name: string) =>
  (await metrics.registry.getSingleMetricAsString(name)).split("\n").filter((l) => !l.startsWith("#"));

describe("review handler with an ensurer", () => {
  it("waits for the Secret, then patches", async () => {
    const { review, calls } = setup(() => Promise.resolve({ ok: true }));
    const verdict = await review("pod-create-generatename-init-existing-secrets.json");
    expect(calls).toEqual([
      {
        namespace: "team-a",
        hosts: [
          "123456789012.dkr.ecr.us-east-1.amazonaws.com",
          "210987654321.dkr.ecr.eu-west-1.amazonaws.com",
        ],
      },
    ]);
    expect(verdict.warnings).toEqual([]);
    expect(verdict.patch).toHaveLength(1);
  });

  it("dryRun: nothing is ensured, the patch is still returned", async () => {
    const { review, calls } = setup(() => Promise.resolve({ ok: true }));
    const verdict = await review("pod-create-dryrun.json");
    expect(calls).toEqual([]);
    expect(verdict.patch).toEqual([
      { op: "add", path: "/spec/imagePullSecrets", value: [{ name: "ecr-pull-secret" }] },
    ]);
  });

  it("no ECR image: nothing is ensured", async () => {
    const { review, calls } = setup(() => Promise.resolve({ ok: true }));
    expect((await review("pod-create-no-ecr.json")).patch).toEqual([]);
    expect(calls).toEqual([]);
  });

  it("past the deadline: patched anyway, with a warning, an Event and a metric", async () => {
    const { review, events, metrics } = setup(() => new Promise<EnsureResult>(() => {}), 50);
    const started = Date.now();
    const verdict = await review("pod-create-ecr.json");
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(verdict.patch).toHaveLength(1);
    expect(verdict.warnings).toEqual([
      "ecr-webhook: pull Secret not confirmed within 50ms; it is being completed in the background",
    ]);
    expect(events).toEqual([
      {
        namespace: "team-a",
        reason: "PullSecretNotReady",
        message: expect.stringContaining("Pod admitted before Secret was ready"),
      },
    ]);
    expect(await counter(metrics, "ecr_webhook_admission_fallbacks_total")).toContain(
      'ecr_webhook_admission_fallbacks_total{reason="timeout"} 1',
    );
  });

  const failures: { result: EnsureResult; warning: RegExp }[] = [
    {
      result: {
        ok: false,
        reason: "unmanaged_secret",
        message: "Secret team-a/ecr-pull-secret exists and is not managed by ecr-webhook",
      },
      warning: /is not managed by ecr-webhook/,
    },
    {
      result: {
        ok: false,
        reason: "error",
        message: "ECR GetAuthorizationToken failed: ThrottlingException",
      },
      warning: /ThrottlingException/,
    },
  ];
  it.each(failures)(
    "an ensure failure ($result.reason) still injects, with its reason as a warning",
    async ({ result, warning }) => {
      const { review, events } = setup(() => Promise.resolve(result));
      const verdict = await review("pod-create-ecr.json");
      expect(verdict.patch).toHaveLength(1);
      expect(verdict.warnings.join()).toMatch(warning);
      expect(events).toHaveLength(1);
    },
  );

  it("a rejected ensure is an error outcome, not a crash", async () => {
    const { review } = setup(() => Promise.reject(new Error("socket hang up")));
    const verdict = await review("pod-create-ecr.json");
    expect(verdict.warnings).toEqual(["ecr-webhook: pull Secret not ready: socket hang up"]);
  });

  it("a namespace lookup that hangs fails open by the deadline", async () => {
    const handle = createReviewHandler({
      policy: testConfig(),
      namespaces: { get: () => new Promise(() => {}) },
      logger: silentLogger(),
      metrics: createMetrics(),
      deadlineMs: 50,
    });
    const verdict = await handle(decodeReview(loadReview("pod-create-ecr.json")));
    expect(verdict).toEqual({
      patch: [],
      warnings: ["ecr-webhook: namespace lookup took longer than 50ms, Pod admitted unchanged"],
    });
  });
});

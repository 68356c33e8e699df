/**
 * Whoever can reach /mutate must not be able to grow the metrics: thousands of forged reviews with
 * random kinds, groups, operations, namespaces and sub-resources, and the number of series exported
 * stays what the first handful of reviews made it.
 */
import { Agent } from "node:https";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadReview } from "../support/fixtures.js";
import { httpsRequest } from "../support/https-client.js";
import { startTestWebhook, type TestWebhook } from "../support/webhook.js";
import { SEED } from "./arbitraries.js";

let webhook: TestWebhook;
let agent: Agent;
beforeAll(async () => {
  webhook = await startTestWebhook();
  agent = new Agent({ keepAlive: true, maxSockets: 8 });
});
afterAll(async () => {
  agent?.destroy();
  await webhook?.close();
});

/** Every sample the registry would export, as `name{labels}`. */
async function series(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const metric of await webhook.metrics.registry.getMetricsAsJSON()) {
    for (const value of metric.values)
      out.add(
        `${(value as { metricName?: string }).metricName ?? metric.name}${JSON.stringify(value.labels)}`,
      );
  }
  return out;
}

const forged = fc.record({
  kind: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("Pod", "ServiceAccount", "Secret")),
  group: fc.oneof(fc.constant(""), fc.string({ maxLength: 10 })),
  version: fc.constantFrom("v1", "v1beta1", "v2"),
  operation: fc.oneof(fc.constantFrom("CREATE", "UPDATE", "DELETE", "CONNECT"), fc.string({ maxLength: 12 })),
  namespace: fc.oneof(fc.constant("team-a"), fc.stringMatching(/^[a-z0-9-]{1,20}$/)),
  subResource: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
});

type Forged = {
  kind: string;
  group: string;
  version: string;
  operation: string;
  namespace: string;
  subResource: string | undefined;
};

describe("metric labels under forged reviews", () => {
  it("3,000 reviews with random kinds, operations and namespaces leave the series count where it was", async () => {
    const send = async (fields: Forged, uid: number) => {
      const review = loadReview("pod-create-ecr.json");
      review.request.uid = `forged-${uid}`;
      review.request.kind = { group: fields.group, version: fields.version, kind: fields.kind };
      review.request.operation = fields.operation;
      review.request.namespace = fields.namespace;
      if (fields.subResource !== undefined) review.request.subResource = fields.subResource;
      const res = await httpsRequest({
        port: webhook.port,
        ca: webhook.ca,
        agent,
        body: JSON.stringify(review),
      });
      expect(res.status).toBe(200);
    };
    // Every label value a legitimate review produces, once: Pod and ServiceAccount patched and not.
    const legitimate = { group: "", version: "v1", operation: "CREATE", subResource: undefined };
    for (const [i, kind] of ["Pod", "ServiceAccount", "Secret"].entries()) {
      await send({ ...legitimate, kind, namespace: "team-a" }, -1 - i);
      await send({ ...legitimate, kind, namespace: "not-enabled" }, -10 - i);
    }
    const before = await series();

    const samples = fc.sample(forged, { numRuns: 3_000, seed: SEED + 1 });
    for (let i = 0; i < samples.length; i += 50) {
      await Promise.all(samples.slice(i, i + 50).map((fields, j) => send(fields, 1_000 + i + j)));
    }
    const after = await series();
    expect([...after].filter((s) => !before.has(s))).toEqual([]);
    const kinds = new Set(
      [...after]
        .filter((s) => s.startsWith("ecr_webhook_admission_reviews_total"))
        .map((s) => JSON.parse(s.slice(s.indexOf("{"))).kind),
    );
    expect([...kinds].sort()).toEqual(["Pod", "ServiceAccount", "other"]);
    expect(after.size).toBe(before.size);
    console.log(`metric series after 3,000 forged reviews: ${after.size} (before them: ${before.size})`);
  }, 60_000);
});

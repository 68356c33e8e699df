import fastJsonPatch from "fast-json-patch";
import { describe, expect, it } from "vitest";
import { decide } from "../../src/admission/decide.js";
import { decodeReview } from "../../src/admission/review.js";
import { enabledNamespace, loadReview, testConfig, type AdmissionFixture } from "../support/fixtures.js";

const { applyPatch } = fastJsonPatch;
const config = testConfig();
const ECR_EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const ECR_WEST = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";

interface Case {
  fixture: AdmissionFixture;
  registries: string[];
  /** imagePullSecrets of the object after the patch; undefined when no patch is expected. */
  pullSecrets: string[] | undefined;
  /** Where imagePullSecrets lives in the object. */
  at: "spec" | "root";
}

const CASES: Case[] = [
  { fixture: "pod-create-ecr.json", registries: [ECR_EAST], pullSecrets: ["ecr-pull-secret"], at: "spec" },
  {
    fixture: "pod-create-generatename-init-existing-secrets.json",
    registries: [ECR_EAST, ECR_WEST],
    pullSecrets: ["existing-creds", "ecr-pull-secret"],
    at: "spec",
  },
  { fixture: "pod-create-no-ecr.json", registries: [], pullSecrets: undefined, at: "spec" },
  { fixture: "pod-create-dryrun.json", registries: [ECR_EAST], pullSecrets: ["ecr-pull-secret"], at: "spec" },
  {
    fixture: "pod-create-by-replicaset.json",
    registries: [ECR_EAST],
    pullSecrets: ["ecr-pull-secret"],
    at: "spec",
  },
  { fixture: "serviceaccount-create.json", registries: [], pullSecrets: ["ecr-pull-secret"], at: "root" },
];

function pullSecretsOf(object: any, at: Case["at"]): string[] | undefined {
  const list = at === "spec" ? object.spec?.imagePullSecrets : object.imagePullSecrets;
  return list?.map((ref: { name: string }) => ref.name);
}

describe("recorded AdmissionReviews", () => {
  it.each(CASES)("$fixture", ({ fixture, registries, pullSecrets, at }) => {
    const raw = loadReview(fixture);
    const review = decodeReview(raw);
    // The namespace comes from request.namespace: a ReplicaSet's pod has none in its metadata.
    expect(review.request.namespace).toBe("team-a");
    const decision = decide(review.request, enabledNamespace("team-a"), config);
    if (pullSecrets === undefined) {
      expect(decision.action).toBe("skip");
      return;
    }
    if (decision.action !== "inject") throw new Error(`expected inject, got ${decision.reason}`);
    expect(decision.registries.map((r) => r.host)).toEqual(registries);
    expect(decision.warnings).toEqual([]);
    const before = JSON.stringify(raw.request.object);
    const patchedObject = applyPatch(raw.request.object, [...decision.patch], true, false).newDocument;
    expect(pullSecretsOf(patchedObject, at)).toEqual(pullSecrets);
    // Nothing but imagePullSecrets changed.
    const original = JSON.parse(before);
    if (at === "root") {
      // A ServiceAccount is also marked, so opting out later removes only what the webhook added.
      expect(patchedObject.metadata.annotations).toEqual({
        "ecr-webhook.io/added-pull-secret": "ecr-pull-secret",
      });
      delete patchedObject.metadata.annotations;
    }
    for (const object of [patchedObject, original]) {
      if (at === "spec") delete object.spec.imagePullSecrets;
      else delete object.imagePullSecrets;
    }
    expect(patchedObject).toEqual(original);
  });

  it.each(CASES.filter((c) => c.pullSecrets))(
    "$fixture: the review re-sent for the patched object yields no patch",
    ({ fixture }) => {
      const raw = loadReview(fixture);
      const first = decide(decodeReview(raw).request, enabledNamespace(), config);
      if (first.action !== "inject") throw new Error("expected inject");
      raw.request.object = applyPatch(raw.request.object, [...first.patch], true, false).newDocument;
      const second = decide(decodeReview(raw).request, enabledNamespace(), config);
      expect(second.action).toBe("inject");
      expect(second.action === "inject" && second.patch).toEqual([]);
    },
  );

  it("uses the API server's patch shapes: add the list when absent, append when present", () => {
    const absent = decide(
      decodeReview(loadReview("pod-create-ecr.json")).request,
      enabledNamespace(),
      config,
    );
    expect(absent.action === "inject" && absent.patch).toEqual([
      { op: "add", path: "/spec/imagePullSecrets", value: [{ name: "ecr-pull-secret" }] },
    ]);
    const present = decide(
      decodeReview(loadReview("pod-create-generatename-init-existing-secrets.json")).request,
      enabledNamespace(),
      config,
    );
    expect(present.action === "inject" && present.patch).toEqual([
      { op: "add", path: "/spec/imagePullSecrets/1", value: { name: "ecr-pull-secret" } },
    ]);
  });
});

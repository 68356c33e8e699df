/**
 * The pure admission path (decodeReview → decide → JSON patch) on arbitrary Pods and ServiceAccounts
 * under arbitrary server policies and namespace allow-lists. Whenever the decision is to inject, the
 * patch survives the trip as JSON, applies cleanly (validated) to the very object the API server
 * sent, leaves the object holding the pull Secret reference exactly once (or as often as it already
 * did), changes nothing else, and deciding again on the patched object yields no patch at all.
 */
import fc from "fast-check";
import fastJsonPatch, { type Operation } from "fast-json-patch";
import { describe, expect, it } from "vitest";
import { ANNOTATION_ADDED_REFERENCE } from "../../src/policy/keys.js";
import { ANNOTATION_ALLOWED_ACCOUNTS, ANNOTATION_ALLOWED_REGIONS } from "../../src/policy/keys.js";
import { decide, type Decision, type Target } from "../../src/admission/decide.js";
import { decodeReview } from "../../src/admission/review.js";
import type { Config } from "../../src/config/config.js";
import { enabledNamespace, testConfig } from "../support/fixtures.js";
import { SEED, namespaceAnnotations, pod, policyArgv, serviceAccount } from "./arbitraries.js";

const { applyPatch, validate } = fastJsonPatch;

const NUM_RUNS = 300;

/** Half the time the policies and namespace annotations of the generators, half the time no allow-list. */
const policy = fc.oneof(
  policyArgv,
  fc.constantFrom<string[]>(
    [],
    ["--secret-name=regcred"],
    ["--default-account=123456789012", "--default-region=eu-west-1"],
  ),
);
const nsAnnotations = fc.oneof(namespaceAnnotations, fc.constant({}));

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value));

/** A CREATE review of `object` in the enabled namespace team-a, decoded as the server decodes it. */
function requestFor(object: unknown, kind: Target) {
  return decodeReview({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "property",
      kind: { group: "", version: "v1", kind },
      namespace: "team-a",
      operation: "CREATE",
      object,
    },
  }).request;
}

function decideFor(object: unknown, kind: Target, policy: Config, annotations: Record<string, string>) {
  return decide(requestFor(object, kind), enabledNamespace("team-a", annotations), policy);
}

const references = (list: unknown, name: string): number =>
  Array.isArray(list) ? list.filter((ref: any) => ref?.name === name).length : 0;

/** Applies a patch as the API server would: from its JSON form, validated, to a copy of the object. */
function applyAsApiServer(object: unknown, patch: readonly Operation[]): any {
  const wire: Operation[] = JSON.parse(JSON.stringify(patch));
  // Nothing is lost on the wire (no undefined values, no functions, no shared references).
  expect(wire).toStrictEqual(patch.map((op) => ({ ...op })));
  const document = clone(object);
  expect(validate(wire, clone(document))).toBeUndefined();
  return applyPatch(document, wire, true, false).newDocument;
}

const commaList = (text: string | undefined) =>
  (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** Every registry an inject decision names passes every allow-list in force. */
function expectAllowed(decision: Decision, policy: Config, annotations: Record<string, string>): void {
  if (decision.action !== "inject") return;
  const lists = [
    ["account", policy.allowedAccounts],
    ["region", policy.allowedRegions],
    ["account", commaList(annotations[ANNOTATION_ALLOWED_ACCOUNTS])],
    ["region", commaList(annotations[ANNOTATION_ALLOWED_REGIONS])],
  ] as const;
  for (const registry of decision.registries) {
    for (const [field, allowed] of lists) {
      if (allowed.length > 0) expect(allowed).toContain(registry[field]);
    }
  }
}

describe("Pod patches", () => {
  it("apply cleanly, add the reference exactly once, change nothing else, and are idempotent", () => {
    const seen = { patched: 0, alreadyReferenced: 0, skipped: 0, stripped: 0 };
    fc.assert(
      fc.property(pod, policy, nsAnnotations, (object, argv, annotations) => {
        const config = testConfig(argv);
        const name = config.secretName;
        const original = clone(object);
        const decision = decideFor(object, "Pod", config, annotations);
        // decide is pure: the object it was given is untouched.
        expect(object).toStrictEqual(original);
        expectAllowed(decision, config, annotations);
        if (decision.action === "skip") {
          seen.skipped++;
          return;
        }
        if (decision.action === "strip") {
          // Opted out: every reference to the managed Secret goes, nothing else changes.
          seen.stripped++;
          const before: unknown[] = original.spec.imagePullSecrets;
          const patched = applyAsApiServer(object, decision.patch);
          expect(patched.spec.imagePullSecrets).toStrictEqual(before.filter((r: any) => r?.name !== name));
          expect(decideFor(patched, "Pod", config, annotations).action).toBe("skip");
          return;
        }
        expect(decision.target).toBe("Pod");
        expect(decision.registries.length).toBeGreaterThan(0);
        const before: unknown[] = original.spec.imagePullSecrets ?? [];
        const already = references(before, name);
        if (already > 0) {
          // Re-sent or reinvoked review: nothing to add.
          seen.alreadyReferenced++;
          expect(decision.patch).toEqual([]);
          return;
        }
        seen.patched++;
        for (const op of decision.patch) expect(op.path).toMatch(/^\/spec\/imagePullSecrets(\/|$)/);

        const patched = applyAsApiServer(object, decision.patch);
        const after: unknown[] = patched.spec.imagePullSecrets;
        expect(references(after, name)).toBe(1);
        // Existing references are kept, in order; ours is appended.
        expect(after).toStrictEqual([...before, { name }]);
        // Nothing else changed.
        const rest = (o: any) => {
          const copy = clone(o);
          delete copy.spec.imagePullSecrets;
          return copy;
        };
        expect(rest(patched)).toStrictEqual(rest(original));

        // Deciding again on the patched object: same registries, no patch.
        const again = decideFor(patched, "Pod", config, annotations);
        expect(again.action).toBe("inject");
        if (again.action !== "inject") return;
        expect(again.registries).toEqual(decision.registries);
        expect(again.patch).toEqual([]);
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
    // The property was exercised on every branch, not vacuously.
    expect(seen.patched).toBeGreaterThan(NUM_RUNS / 5);
    expect(seen.alreadyReferenced).toBeGreaterThan(0);
    expect(seen.skipped).toBeGreaterThan(0);
  });
});

describe("ServiceAccount patches", () => {
  it("apply cleanly, add the reference and its annotation once, change nothing else, and are idempotent", () => {
    const seen = { patched: 0, alreadyReferenced: 0, switchedOff: 0 };
    fc.assert(
      fc.property(
        serviceAccount,
        policy,
        nsAnnotations,
        fc.boolean(),
        (object, argv, annotations, patchServiceAccounts) => {
          const config = testConfig([...argv, `--patch-service-accounts=${patchServiceAccounts}`]);
          const name = config.secretName;
          const original = clone(object);
          const decision = decideFor(object, "ServiceAccount", config, annotations);
          expect(object).toStrictEqual(original);
          expectAllowed(decision, config, annotations);
          if (!patchServiceAccounts) {
            seen.switchedOff++;
            expect(decision.action).toBe("skip");
            return;
          }
          expect(decision.action).toBe("inject");
          if (decision.action !== "inject") return;
          const before: unknown[] = original.imagePullSecrets ?? [];
          if (references(before, name) > 0) {
            seen.alreadyReferenced++;
            expect(decision.patch).toEqual([]);
            return;
          }
          seen.patched++;
          for (const op of decision.patch) {
            expect(op.path).toMatch(/^\/(imagePullSecrets|metadata\/annotations)(\/|$)/);
          }

          const patched = applyAsApiServer(object, decision.patch);
          expect(patched.imagePullSecrets).toStrictEqual([...before, { name }]);
          const annotationsBefore = original.metadata.annotations ?? {};
          expect(patched.metadata.annotations).toStrictEqual({
            ...annotationsBefore,
            [ANNOTATION_ADDED_REFERENCE]: name,
          });
          const rest = (o: any) => {
            const copy = clone(o);
            delete copy.imagePullSecrets;
            delete copy.metadata.annotations;
            return copy;
          };
          expect(rest(patched)).toStrictEqual(rest(original));

          const again = decideFor(patched, "ServiceAccount", config, annotations);
          expect(again.action).toBe("inject");
          if (again.action === "inject") expect(again.patch).toEqual([]);
        },
      ),
      { seed: SEED, numRuns: NUM_RUNS },
    );
    expect(seen.patched).toBeGreaterThan(NUM_RUNS / 5);
    expect(seen.alreadyReferenced).toBeGreaterThan(0);
    expect(seen.switchedOff).toBeGreaterThan(0);
  });
});

import type { V1ServiceAccount } from "@kubernetes/client-node";
import fastJsonPatch from "fast-json-patch";
import { describe, expect, it } from "vitest";
import { addReferenceOps, removeReferenceOps } from "../../src/controller/service-account-references.js";
import { loadApiStatus } from "../support/fixtures.js";

const MARK = "ecr-webhook.io/added-pull-secret";
const sa = (
  extra: Partial<V1ServiceAccount> = {},
  annotations?: Record<string, string>,
): V1ServiceAccount => ({
  ...structuredClone(loadApiStatus("200-sa-jsonpatch.json")),
  imagePullSecrets: undefined,
  ...extra,
  metadata: { ...loadApiStatus("200-sa-jsonpatch.json").metadata, ...(annotations ? { annotations } : {}) },
});
const apply = (obj: V1ServiceAccount, ops: any[]) =>
  fastJsonPatch.applyPatch(structuredClone(obj), ops, true, false).newDocument;

describe("ServiceAccount references", () => {
  it.each([
    { name: "no list yet", input: sa(), refs: ["ecr-pull-secret"] },
    {
      name: "the user's own pull secret stays first",
      input: sa({ imagePullSecrets: [{ name: "mine" }] }),
      refs: ["mine", "ecr-pull-secret"],
    },
    { name: "existing annotations are kept", input: sa({}, { team: "a" }), refs: ["ecr-pull-secret"] },
  ])("add: $name", ({ input, refs }) => {
    const ops = addReferenceOps(input, "ecr-pull-secret");
    expect(ops[0]).toEqual({ op: "test", path: "/metadata/resourceVersion", value: "199" });
    const out = apply(input, ops);
    expect(out.imagePullSecrets?.map((r) => r.name)).toEqual(refs);
    expect(out.metadata?.annotations?.[MARK]).toBe("ecr-pull-secret");
    expect(removeReferenceOps(out, "ecr-pull-secret").length).toBeGreaterThan(0);
    // Adding and then removing gives back exactly the original object.
    expect(apply(out, removeReferenceOps(out, "ecr-pull-secret"))).toEqual(input);
  });

  it("add: a reference the user wrote is left alone and not marked", () => {
    const input = sa({ imagePullSecrets: [{ name: "ecr-pull-secret" }] });
    expect(addReferenceOps(input, "ecr-pull-secret")).toEqual([]);
    expect(removeReferenceOps(input, "ecr-pull-secret")).toEqual([]);
  });

  it("remove: only when the mark names this Secret", () => {
    const input = sa({ imagePullSecrets: [{ name: "ecr-pull-secret" }] }, { [MARK]: "another-name" });
    expect(removeReferenceOps(input, "ecr-pull-secret")).toEqual([]);
  });

  it("a stale view fails the test op instead of overwriting", () => {
    const input = sa();
    const ops = addReferenceOps(input, "ecr-pull-secret");
    const newer = { ...input, metadata: { ...input.metadata, resourceVersion: "200" } };
    expect(() => apply(newer, ops)).toThrow();
  });
});

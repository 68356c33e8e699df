import fastJsonPatch from "fast-json-patch";
import type { AdmissionPolicy } from "../config/config.js";
import { decide, type Decision } from "../admission/decide.js";
import { namespaceEnabled } from "../policy/namespace.js";
import type { NamespaceMeta } from "../policy/namespace.js";
import { podImages } from "../admission/pod-registries.js";
import { classifyImage, type ImageRegistry } from "../registry/ecr-registry.js";

/** Kinds whose pods are explained through `spec.template` (or a CronJob's job template). */
const TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  ReplicationController: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

export interface Explanation {
  readonly object: string;
  readonly namespace: string;
  readonly namespaceEnabled: boolean;
  readonly images: { image: string; registry: ImageRegistry }[];
  readonly action: Decision["action"];
  readonly reason?: string;
  readonly registries: string[];
  readonly warnings: readonly string[];
  readonly patch: readonly fastJsonPatch.Operation[];
  readonly imagePullSecrets: string[];
}

function dig(value: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Runs the same decision as admission on one manifest: a Pod, a ServiceAccount or a workload. */
export function explainManifest(
  manifest: unknown,
  namespace: NamespaceMeta,
  policy: AdmissionPolicy,
): Explanation {
  const kind = text(dig(manifest, ["kind"])) ?? "";
  const name =
    text(dig(manifest, ["metadata", "name"])) ??
    text(dig(manifest, ["metadata", "generateName"])) ??
    "(unnamed)";
  const templatePath = TEMPLATE_PATHS[kind];
  const target = templatePath
    ? { kind: "Pod", object: dig(manifest, templatePath) ?? {} }
    : { kind, object: manifest };
  const request = {
    uid: "explain",
    kind: { group: "", version: "v1", kind: target.kind },
    namespace: namespace.name,
    operation: "CREATE",
    object: target.object,
  };
  const decision = decide(request, namespace, policy);
  const patch = decision.action === "skip" ? [] : decision.patch;
  const patched = fastJsonPatch.applyPatch(
    structuredClone(target.object),
    [...patch],
    true,
    false,
  ).newDocument;
  const refs =
    (target.kind === "Pod"
      ? dig(patched, ["spec", "imagePullSecrets"])
      : dig(patched, ["imagePullSecrets"])) ?? [];
  return {
    object: templatePath ? `${kind} ${name} (pod template)` : `${kind} ${name}`,
    namespace: namespace.name,
    namespaceEnabled: namespaceEnabled(namespace, policy),
    images:
      target.kind === "Pod"
        ? podImages(target.object).map((image) => ({ image, registry: classifyImage(image) }))
        : [],
    action: decision.action,
    reason: decision.action === "inject" ? undefined : decision.reason,
    registries: decision.action === "inject" ? decision.registries.map((r) => r.host) : [],
    warnings: decision.warnings,
    patch,
    imagePullSecrets: (refs as { name?: string }[]).map((ref) => String(ref.name)),
  };
}

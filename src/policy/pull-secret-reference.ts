import fastJsonPatch, { type Operation } from "fast-json-patch";
import { ANNOTATION_ADDED_REFERENCE } from "./keys.js";

const { compare } = fastJsonPatch;

interface SecretRef {
  name?: unknown;
}

/**
 * The JSON patch that adds `{name: secretName}` to the `imagePullSecrets` list at `basePath`
 * ("/spec" for a Pod, "" for a ServiceAccount). Built by diffing the list against a mutated copy,
 * so an absent list becomes one `add` of the whole array and a present one gets an appended element;
 * existing entries are never removed or reordered, and a list that already names the secret (a
 * reinvoked or re-sent review) yields no patch at all. Only the list is cloned, not the object.
 */
export function imagePullSecretsPatch(
  container: unknown,
  basePath: "/spec" | "",
  secretName: string,
): Operation[] {
  const current = (container as { imagePullSecrets?: unknown } | undefined)?.imagePullSecrets;
  if (Array.isArray(current) && current.some((ref: SecretRef) => ref?.name === secretName)) return [];
  const before = current === undefined ? {} : { imagePullSecrets: current };
  const existing = Array.isArray(current) ? (current as unknown[]) : [];
  const after = { imagePullSecrets: [...existing, { name: secretName }] };
  return compare(before, after).map((op) => ({ ...op, path: `${basePath}${op.path}` }));
}

/**
 * The JSON patch that takes every `{name: secretName}` out of the `imagePullSecrets` list at
 * `basePath`, last first so that each index still points at its element; [] when the list names
 * none. Every other entry stays, in its order.
 */
export function removeReferencePatch(container: unknown, basePath: "/spec", secretName: string): Operation[] {
  const current = (container as { imagePullSecrets?: unknown } | undefined)?.imagePullSecrets;
  if (!Array.isArray(current)) return [];
  const ops: Operation[] = [];
  for (let i = current.length - 1; i >= 0; i--) {
    if ((current[i] as SecretRef | undefined)?.name === secretName) {
      ops.push({ op: "remove", path: `${basePath}/imagePullSecrets/${i}` });
    }
  }
  return ops;
}

/**
 * For a ServiceAccount: the reference plus an annotation recording that ecr-webhook added it, so
 * that opting the namespace out removes exactly what the webhook added and nothing a user wrote.
 */
export function serviceAccountPatch(serviceAccount: unknown, secretName: string): Operation[] {
  const ops = imagePullSecretsPatch(serviceAccount, "", secretName);
  if (ops.length === 0) return ops;
  const annotations = (serviceAccount as { metadata?: { annotations?: unknown } } | undefined)?.metadata
    ?.annotations;
  const before = annotations === undefined ? {} : { annotations };
  const after = {
    annotations: { ...(annotations as object | undefined), [ANNOTATION_ADDED_REFERENCE]: secretName },
  };
  return [...ops, ...compare(before, after).map((op) => ({ ...op, path: `/metadata${op.path}` }))];
}

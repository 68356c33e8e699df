/** PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386); strategic merge is treated as merge. */
import fastJsonPatch from "fast-json-patch";
import type { Operation } from "fast-json-patch";
import { badRequest, patchRejected, unsupportedMediaType } from "./status.js";
import type { KubeObject } from "./types.js";

export const JSON_PATCH = "application/json-patch+json";
export const MERGE_PATCH = "application/merge-patch+json";
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

export const mediaType = (contentType: string | undefined) =>
  (contentType ?? "").split(";")[0]!.trim().toLowerCase();

/** Returns the patched copy of `existing`; throws ApiError 400/415/422 like the real server. */
export function applyPatch(
  existing: KubeObject,
  contentType: string | undefined,
  patch: unknown,
): KubeObject {
  const type = mediaType(contentType);
  if (type === JSON_PATCH) {
    if (!Array.isArray(patch) || !patch.every(isPlainObject)) {
      throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
    }
    try {
      const result = fastJsonPatch.applyPatch(
        structuredClone(existing),
        patch as unknown as Operation[],
        true,
        true,
      );
      return result.newDocument;
    } catch {
      throw patchRejected();
    }
  }
  if (type === MERGE_PATCH || type === STRATEGIC_MERGE_PATCH) {
    if (!isPlainObject(patch))
      throw badRequest("the body of the request must be a JSON object for a merge patch");
    return mergePatch(existing, patch) as KubeObject;
  }
  throw unsupportedMediaType();
}

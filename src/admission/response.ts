import type { Operation } from "fast-json-patch";
import type { AdmissionReview } from "./review.js";

/** What the handler decided, before it is encoded in the request's own AdmissionReview version. */
export interface Verdict {
  readonly patch: readonly Operation[];
  readonly warnings: readonly string[];
}

export const allowed = (warnings: readonly string[] = []): Verdict => ({ patch: [], warnings });
export const patched = (patch: readonly Operation[], warnings: readonly string[] = []): Verdict => ({
  patch,
  warnings,
});

/**
 * Encodes a verdict as the API server expects it: same apiVersion as asked, the request's uid echoed,
 * a base64 JSONPatch only when there is something to change. This webhook only mutates; it never denies.
 */
/** What answering a review needs from it. */
export interface ReviewEnvelope {
  readonly apiVersion: string;
  readonly uid: string;
  readonly kind: string;
}

export const reviewEnvelope = (review: AdmissionReview): ReviewEnvelope => ({
  apiVersion: review.apiVersion,
  uid: review.request.uid,
  kind: review.request.kind.kind,
});

export function encodeResponse(review: ReviewEnvelope, verdict: Verdict): object {
  const response: Record<string, unknown> = { uid: review.uid, allowed: true };
  if (verdict.patch.length > 0) {
    response.patchType = "JSONPatch";
    response.patch = Buffer.from(JSON.stringify(verdict.patch)).toString("base64");
  }
  if (verdict.warnings.length > 0) response.warnings = verdict.warnings.map(truncateWarning);
  return { apiVersion: review.apiVersion, kind: "AdmissionReview", response };
}

// The API server drops warnings over 256 characters and control characters; keep ours readable.
function truncateWarning(text: string): string {
  const clean = text.replace(/[\p{Cc}]/gu, " ");
  return clean.length <= 256 ? clean : `${clean.slice(0, 253)}...`;
}

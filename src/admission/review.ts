/**
 * The AdmissionReview wire types (only the fields this webhook reads) and the decoding of an
 * untrusted body into them. The rest of the code trusts what `decodeReview` returns.
 */
export const SUPPORTED_VERSIONS = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const;
export type ReviewVersion = (typeof SUPPORTED_VERSIONS)[number];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  namespace?: string;
  name?: string;
  subResource?: string;
  operation: string;
  dryRun?: boolean;
  object?: unknown;
}

export interface AdmissionReview {
  apiVersion: ReviewVersion;
  kind: "AdmissionReview";
  request: AdmissionRequest;
}

/** A body that is not a usable AdmissionReview: answered with a 4xx and this message. */
export class BadReviewError extends Error {
  override readonly name = "BadReviewError";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOr<T>(value: unknown, fallback: T): string | T {
  return typeof value === "string" ? value : fallback;
}

export function decodeReview(body: unknown): AdmissionReview {
  if (!isRecord(body)) throw new BadReviewError("body is not a JSON object");
  if (body.kind !== "AdmissionReview") throw new BadReviewError('kind must be "AdmissionReview"');
  const apiVersion = body.apiVersion;
  if (!SUPPORTED_VERSIONS.includes(apiVersion as ReviewVersion)) {
    throw new BadReviewError(
      `unsupported apiVersion ${JSON.stringify(apiVersion)}; expected ${SUPPORTED_VERSIONS.join(" or ")}`,
    );
  }
  const request = body.request;
  if (!isRecord(request)) throw new BadReviewError("request is missing");
  if (typeof request.uid !== "string" || request.uid === "")
    throw new BadReviewError("request.uid is missing");
  const kind = request.kind;
  if (!isRecord(kind) || typeof kind.kind !== "string") throw new BadReviewError("request.kind is missing");
  if (typeof request.operation !== "string") throw new BadReviewError("request.operation is missing");
  return {
    apiVersion: apiVersion as ReviewVersion,
    kind: "AdmissionReview",
    request: {
      uid: request.uid,
      kind: { group: stringOr(kind.group, ""), version: stringOr(kind.version, ""), kind: kind.kind },
      namespace: stringOr(request.namespace, undefined),
      name: stringOr(request.name, undefined),
      subResource: stringOr(request.subResource, undefined),
      operation: request.operation,
      dryRun: request.dryRun === true,
      object: request.object,
    },
  };
}

/**
 * What a failed Kubernetes API call said, read from @kubernetes/client-node's ApiException (whose
 * `body` is the Status JSON, as a string or already parsed) or from a network error. Callers branch
 * on code and reason; they never treat "any error" as "not found".
 */
export interface ApiFailure {
  readonly code?: number;
  readonly reason?: string;
  readonly message: string;
  readonly causes: readonly string[];
  readonly retryAfterSeconds?: number;
}

interface StatusBody {
  reason?: string;
  message?: string;
  details?: { causes?: { reason?: string }[] };
}

function statusBody(body: unknown): StatusBody | undefined {
  if (typeof body === "object" && body !== null) return body;
  if (typeof body !== "string") return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === "object" && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What went wrong when no answer came back. fetch reports every network failure as "fetch failed"
 * and keeps what happened (ECONNREFUSED, a TLS error, a timeout) in its cause, the part an operator
 * needs; a connection tried on several addresses keeps one error per address.
 */
function networkMessage(error: unknown): string {
  interface Described {
    message?: string;
    code?: string;
    cause?: Described;
    errors?: Described[];
  }
  const firstLine = (text: string | undefined) => text?.split("\n")[0] ?? "";
  const outer = (typeof error === "object" && error !== null ? error : {}) as Described;
  const text = firstLine(outer.message ?? String(error));
  const cause = outer.cause;
  const detail = firstLine(cause?.message || cause?.errors?.[0]?.message || cause?.code);
  return detail && !text.includes(detail) ? `${text}: ${detail}` : text;
}

export function apiFailure(error: unknown): ApiFailure {
  const e = (error ?? {}) as {
    code?: unknown;
    body?: unknown;
    headers?: Record<string, string>;
    message?: string;
  };
  const code = typeof e.code === "number" ? e.code : undefined;
  const body = statusBody(e.body);
  const retryAfter = Number(e.headers?.["retry-after"] ?? Number.NaN);
  // A Status message never carries object data; an ApiException's own message may, so it is not used.
  const fallback = code === undefined ? networkMessage(error) : `HTTP ${code}`;
  return {
    code,
    reason: body?.reason,
    message: body?.message ?? fallback,
    causes: (body?.details?.causes ?? []).map((c) => c.reason ?? "").filter(Boolean),
    retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
  };
}

export const isNotFound = (f: ApiFailure) => f.code === 404;
export const isConflict = (f: ApiFailure) => f.code === 409 && f.reason === "Conflict";
export const isAlreadyExists = (f: ApiFailure) => f.code === 409 && f.reason === "AlreadyExists";
export const isNamespaceTerminating = (f: ApiFailure) =>
  f.code === 403 && f.causes.includes("NamespaceTerminating");
/** Worth another try: throttled, server-side trouble, or the request never got an answer. */
export const isRetryable = (f: ApiFailure) => f.code === undefined || f.code === 429 || f.code >= 500;

/** A small closed set for metric labels: the HTTP code, or "network" when none came back. */
export const failureLabel = (f: ApiFailure): string => (f.code === undefined ? "network" : String(f.code));

import { TokenError } from "../ecr/token-source.js";
import { apiFailure, isNamespaceTerminating } from "../kube/api-errors.js";
import type { EnsureFailure } from "./credential-ensurer.js";

/** A failure with the reason the admission warning, the metric and the Event name. */
export class EnsureError extends Error {
  constructor(
    readonly reason: EnsureFailure,
    /** For the namespace's users (warnings, Events): names no IAM role. */
    message: string,
    /** For the operator (logs, `refresh`): everything known. */
    readonly detail: string = message,
  ) {
    super(message);
  }
}

/** Whatever ended a pass, as an EnsureError with its reason. */
export function asEnsureError(namespace: string, error: unknown): EnsureError {
  if (error instanceof EnsureError) return error;
  // The token source has already retried; its failure is final for this pass.
  if (error instanceof TokenError) return new EnsureError("error", error.message);
  const failure = apiFailure(error);
  if (isNamespaceTerminating(failure))
    return new EnsureError("namespace_terminating", `namespace ${namespace} is terminating`);
  return new EnsureError("error", failure.message);
}

/** Any failure's reason, the message for the namespace's users and the detail for the operator. */
export function failureOf(error: unknown): { reason: EnsureFailure; message: string; detail: string } {
  const reason = error instanceof EnsureError ? error.reason : "error";
  const message = (error as Error).message;
  const detail = error instanceof EnsureError ? error.detail : message;
  return { reason, message, detail };
}

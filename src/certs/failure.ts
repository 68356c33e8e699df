import { apiFailure } from "../kube/api-errors.js";

/** A failure the operator can act on, already phrased as one sentence. */
export class OperatorError extends Error {
  override readonly name = "OperatorError";
}

/** One sentence for a failed API call: what was attempted and what the server (or network) said. */
export function describeFailure(action: string, error: unknown): string {
  if (error instanceof OperatorError) return error.message;
  const failure = apiFailure(error);
  const code = failure.code === undefined ? "" : ` (HTTP ${failure.code})`;
  return `${action} failed: ${failure.message.replace(/\.$/, "")}${code}.`;
}

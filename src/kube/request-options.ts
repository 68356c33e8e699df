import {
  Observable,
  type ConfigurationOptions,
  type RequestContext,
  type ResponseContext,
} from "@kubernetes/client-node";

/** Every Kubernetes call the webhook makes gives up after this; a dead socket must not stall work. */
export const API_TIMEOUT_MS = 10_000;
/** Lists of every namespace can be large; they get longer. */
export const LIST_TIMEOUT_MS = 60_000;

/**
 * Per-call options that abort the request after `ms`. @kubernetes/client-node has no client-wide
 * timeout, so without this a connection that never answers would hold a namespace's work forever.
 */
export function withTimeout(
  ms: number = API_TIMEOUT_MS,
  options?: ConfigurationOptions,
): ConfigurationOptions {
  const timeout = {
    pre: (context: RequestContext) => {
      context.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return {
    ...options,
    middleware: [...(options?.middleware ?? []), timeout],
    middlewareMergeStrategy: "append",
  };
}

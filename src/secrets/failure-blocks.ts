import type { EnsureFailure } from "./credential-ensurer.js";

/** How long a namespace that cannot be served is answered from memory, to avoid request storms. */
const BLOCK_MS: Record<EnsureFailure, number> = {
  unmanaged_secret: 60_000,
  namespace_terminating: 300_000,
  error: 0,
};

interface Blocked {
  readonly until: number;
  readonly reason: EnsureFailure;
  readonly message: string;
}

/** Namespaces whose last failure would only repeat if tried again at once, each for a while. */
export function failureBlocks(now: () => number) {
  const blocked = new Map<string, Blocked>();
  return {
    /** Remembers the failure, if it is of a kind that blocks. */
    note(namespace: string, failure: { readonly reason: EnsureFailure; readonly message: string }): void {
      const { reason, message } = failure;
      if (BLOCK_MS[reason] > 0) blocked.set(namespace, { until: now() + BLOCK_MS[reason], reason, message });
    },
    /** The failure that still blocks `namespace`, if one does. */
    current(namespace: string): Blocked | undefined {
      const block = blocked.get(namespace);
      return block && block.until > now() ? block : undefined;
    },
    clear(namespace: string): void {
      blocked.delete(namespace);
    },
  };
}

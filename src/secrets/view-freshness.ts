import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { SecretMetadataView } from "../kube/pull-secret-watch.js";
import { isManaged, readExpiries, staleHosts, type Expiries } from "./pull-secret.js";

/** The view's metadata object is replaced on every change, so its parse can be kept with it. */
const parsed = new WeakMap<V1ObjectMeta, Expiries>();
function expiriesOf(metadata: V1ObjectMeta): Expiries {
  let expiries = parsed.get(metadata);
  if (!expiries) parsed.set(metadata, (expiries = readExpiries(metadata)));
  return expiries;
}

/**
 * Whether the view alone shows the namespace's Secret managed and fresh for every one of `hosts`:
 * the warm path, answered without a call.
 */
export function freshInView(
  view: SecretMetadataView,
  namespace: string,
  hosts: readonly string[],
  clock: { readonly now: number; readonly minTokenTtlMs: number },
): boolean {
  const metadata = view.get(namespace);
  if (!metadata || !isManaged({ metadata })) return false;
  return staleHosts(expiriesOf(metadata), hosts, clock.now, clock.minTokenTtlMs).length === 0;
}

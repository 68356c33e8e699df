import type { V1Secret } from "@kubernetes/client-node";
import type { AdmissionPolicy } from "../config/config.js";
import type { SecretMetadataView } from "../kube/pull-secret-watch.js";
import type { SecretStore } from "../kube/secret-store.js";
import { EnsureError } from "./ensure-error.js";
import { isManaged, readEntries, readRecorded, type RecordedEntry } from "./pull-secret.js";

/** Where a namespace's Secret is read from, and the view that learns what was read. */
export interface SecretReading {
  readonly store: SecretStore;
  readonly view: SecretMetadataView;
  readonly policy: Pick<AdmissionPolicy, "secretName">;
}

/**
 * The Secret a pass starts from, and its entries as far as they are known: `listed` (its metadata
 * as a list just returned it) when given, else the Secret read. A Secret ecr-webhook does not
 * manage ends the pass.
 */
export async function startingPoint(deps: SecretReading, namespace: string, listed: V1Secret | undefined) {
  const existing = listed ?? (await deps.store.read(namespace, deps.policy.secretName));
  deps.view.record(namespace, existing?.metadata);
  if (existing && !isManaged(existing)) {
    throw new EnsureError(
      "unmanaged_secret",
      `Secret ${namespace}/${deps.policy.secretName} exists and is not managed by ecr-webhook; it is left as is`,
    );
  }
  // Listed (metadata only): the times the annotations record. Read: the data's entries, passwords too.
  let entries = new Map<string, RecordedEntry>();
  if (existing) entries = listed ? readRecorded(existing.metadata) : readEntries(existing);
  return { existing, listed: listed !== undefined, entries };
}

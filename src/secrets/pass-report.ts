import type { AdmissionPolicy } from "../config/config.js";
import type { EventRecorder } from "../kube/events.js";
import type { Logger } from "../log/logger.js";
import type { EnsureFailure } from "./credential-ensurer.js";
import type { PassResult } from "./reconcile-pass.js";

/** Who hears of a pass: the namespace's users by Events, the operator by logs. */
export interface PassAudience {
  readonly events?: EventRecorder;
  readonly logger: Logger;
  readonly policy: Pick<AdmissionPolicy, "maxRegistries">;
}

/** What a pass took out of the Secret is told to the namespace's users and to the operator. */
export function reportPass(to: PassAudience, namespace: string, result: PassResult): PassResult {
  if (result.dropped.length > 0) {
    const message = `removed from the pull Secret: ${result.dropped.map((d) => `${d.host} (${d.why})`).join("; ")}`;
    to.events?.pullSecretEvent(namespace, { type: "Warning", reason: "PullSecretEntryDropped", message });
    to.logger.warn(
      { namespace, dropped: result.dropped },
      "pull Secret entries no longer allowed were dropped",
    );
  }
  if (result.evicted.length > 0) {
    const message = `the pull Secret holds at most ${to.policy.maxRegistries} registries; removed the ones asked for least recently: ${result.evicted.join(", ")}`;
    to.events?.pullSecretEvent(namespace, { type: "Warning", reason: "PullSecretEntryEvicted", message });
    to.logger.warn({ namespace, evicted: result.evicted }, "pull Secret full: entries evicted");
  }
  return result;
}

/** A Secret that could not be ensured: the operator always hears why, users of an unmanaged one too. */
export function reportFailure(
  to: PassAudience,
  namespace: string,
  failure: { readonly reason: EnsureFailure; readonly message: string; readonly detail: string },
): void {
  const { reason, message, detail } = failure;
  if (reason === "unmanaged_secret") {
    to.events?.pullSecretEvent(namespace, { type: "Warning", reason: "UnmanagedPullSecret", message });
  }
  to.logger.warn({ namespace, reason, message: detail }, "pull Secret not ensured");
}

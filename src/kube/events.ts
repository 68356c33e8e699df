import { hostname } from "node:os";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../log/logger.js";
import type { Metrics } from "../metrics/metrics.js";
import { apiFailure, failureLabel } from "./api-errors.js";
import { withTimeout } from "./request-options.js";

export interface PullSecretEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

/** Records Events about a namespace's pull Secret; never blocks and never fails its caller. */
export interface EventRecorder {
  pullSecretEvent(namespace: string, event: PullSecretEvent): void;
}

/** The same warning is recorded at most once per namespace and reason in this window. */
const DEDUPE_MS = 5 * 60_000;

/**
 * The Event as the API server accepts it: in the namespace of the object it is about, and about the
 * pull Secret (managed or not), so that `kubectl get events -n <ns>` and `kubectl describe secret`
 * show it to the namespace's own users. An Event about the Namespace itself would have to live in
 * `default`, where tenants cannot see it.
 */
export function pullSecretEventBody(
  namespace: string,
  secretName: string,
  event: PullSecretEvent,
  context: { at: Date; instance: string },
) {
  return {
    metadata: { generateName: `${secretName}.`, namespace },
    involvedObject: { apiVersion: "v1", kind: "Secret", namespace, name: secretName },
    reason: event.reason,
    message: event.message.slice(0, 1024),
    type: event.type,
    source: { component: "ecr-webhook" },
    reportingComponent: "ecr-webhook",
    reportingInstance: context.instance,
    firstTimestamp: context.at,
    lastTimestamp: context.at,
    count: 1,
  };
}

/** Records Events through the API; a burst of identical warnings is one Event. */
export function kubeEventRecorder(
  kc: KubeConfig,
  options: { secretName: string; logger: Logger; metrics?: Metrics; now?: () => number },
): EventRecorder {
  const api = kc.makeApiClient(CoreV1Api);
  const now = options.now ?? Date.now;
  const lastSent = new Map<string, number>();
  const instance = hostname();
  return {
    pullSecretEvent(namespace, event) {
      const key = `${namespace}|${event.reason}`;
      const at = now();
      if (at - (lastSent.get(key) ?? -Infinity) < DEDUPE_MS) return;
      lastSent.set(key, at);
      const body = pullSecretEventBody(namespace, options.secretName, event, { at: new Date(at), instance });
      api.createNamespacedEvent({ namespace, body }, withTimeout()).catch((error: unknown) => {
        const failure = apiFailure(error);
        options.metrics?.eventWriteFailures.inc({ code: failureLabel(failure) });
        options.logger.warn(
          { namespace, reason: event.reason, code: failure.code, err: failure.message },
          "could not record Event",
        );
      });
    },
  };
}

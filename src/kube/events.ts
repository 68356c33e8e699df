import { hostname } from "node:os";
import { withTimeout } from "./request-options.js";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { EventRecorder } from "../admission/ensurer.js";
import type { Logger } from "../log/logger.js";
import { apiFailure } from "./api-errors.js";

/** The same warning is recorded at most once per namespace and reason in this window. */
const DEDUPE_MS = 5 * 60_000;

/**
 * Records Events on Namespaces, in the namespace itself so `kubectl get events -n <ns>` shows them.
 * Recording never blocks the caller and never fails it; a burst of identical warnings is one Event.
 */
export function kubeEventRecorder(
  kc: KubeConfig,
  logger: Logger,
  now: () => number = Date.now,
): EventRecorder {
  const api = kc.makeApiClient(CoreV1Api);
  const lastSent = new Map<string, number>();
  const instance = hostname();
  return {
    namespaceEvent(namespace, event) {
      const key = `${namespace}|${event.reason}`;
      const at = now();
      if (at - (lastSent.get(key) ?? -Infinity) < DEDUPE_MS) return;
      lastSent.set(key, at);
      const time = new Date(at);
      api
        .createNamespacedEvent(
          {
            namespace,
            body: {
              metadata: { generateName: `${namespace}.ecr-webhook.`, namespace },
              involvedObject: { apiVersion: "v1", kind: "Namespace", name: namespace },
              reason: event.reason,
              message: event.message.slice(0, 1024),
              type: event.type,
              source: { component: "ecr-webhook" },
              reportingComponent: "ecr-webhook",
              reportingInstance: instance,
              firstTimestamp: time,
              lastTimestamp: time,
              count: 1,
            },
          },
          withTimeout(),
        )
        .catch((error: unknown) =>
          logger.debug({ err: apiFailure(error).message, namespace }, "could not record Event"),
        );
    },
  };
}

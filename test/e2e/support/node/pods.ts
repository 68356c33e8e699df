/**
 * Pods on the real node, judged by what the kubelet reports: their phase, each container's state,
 * the kubelet's Events. No scheduler runs: every pod is bound by `spec.nodeName`.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { CoreV1Api, V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { describe, it } from "vitest";
import { environment } from "../environment.js";
import { atLeast } from "./discovery.js";
import { APP_TAG, type NodeState } from "./node.js";

const run = promisify(execFile);

/** The running node, or undefined (its cases are skipped or failed before this is called). */
export const nodeState = (): NodeState | undefined => {
  const node = environment().node;
  return node?.kind === "running" ? node.state : undefined;
};

/**
 * `describe` for cases on the real node: skipped (the global setup said which piece was missing),
 * or one failing case when the node did not start, or skipped with the reason when the kubelet is
 * older than `minKubelet`.
 */
export function describeNode(
  name: string,
  body: () => void,
  options: { minKubelet?: [number, number] } = {},
) {
  const env = environment();
  const node = env.node;
  if (!env.available || !node || node.kind === "skipped") return describe.skip(name, body);
  if (node.kind === "failed") {
    return describe(name, () => {
      it("the node starts", () => {
        throw new Error(`the node did not start: ${node.error}`);
      });
    });
  }
  const min = options.minKubelet;
  if (min && !atLeast(node.state.kubeletVersion, min[0], min[1])) {
    const why = `needs kubelet ≥ ${min.join(".")}, this one is ${node.state.kubeletVersion}`;
    console.log(`e2e node: skipped "${name}": ${why}`);
    return describe.skip(`${name} (skipped: ${why})`, body);
  }
  return describe(name, body);
}

/** An image under `host` whose path is the case's own; the front serves the one test image there. */
export const imageAt = (host: string, path: string) => `${host}/${path}/app:${APP_TAG}`;

export interface NodePodOptions {
  readonly annotations?: Record<string, string>;
  readonly pullPolicy?: "Always" | "IfNotPresent" | "Never";
  readonly restartPolicy?: "Always" | "Never" | "OnFailure";
  readonly imagePullSecrets?: readonly string[];
  readonly serviceAccountName?: string;
}

/** A pod bound to the node: no token volume (this API server adds a ConfigMap to it), quick to stop. */
export function nodePod(name: string, images: readonly string[], options: NodePodOptions = {}): V1Pod {
  const node = nodeState();
  if (!node) throw new Error("no node");
  return {
    metadata: { name, ...(options.annotations ? { annotations: options.annotations } : {}) },
    spec: {
      nodeName: node.name,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // No cluster DNS runs: the node's resolv.conf, without the kubelet's MissingClusterDNS warning.
      dnsPolicy: "Default",
      terminationGracePeriodSeconds: 1,
      restartPolicy: options.restartPolicy ?? "Always",
      ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
      ...(options.imagePullSecrets
        ? { imagePullSecrets: options.imagePullSecrets.map((n) => ({ name: n })) }
        : {}),
      containers: images.map((image, i) => ({
        name: `c${i}`,
        image,
        ...(options.pullPolicy ? { imagePullPolicy: options.pullPolicy } : {}),
      })),
    },
  };
}

export const statuses = (pod: V1Pod): V1ContainerStatus[] => pod.status?.containerStatuses ?? [];

/** Every container running (started by the kubelet from a pulled image). */
export const allRunning = (pod: V1Pod) =>
  pod.status?.phase === "Running" && statuses(pod).length > 0 && statuses(pod).every((s) => s.state?.running);

/** The reasons containers are waiting for (ErrImagePull, ImagePullBackOff, …). */
export const waitingReasons = (pod: V1Pod) => statuses(pod).map((s) => s.state?.waiting?.reason ?? "");

export const pullFailed = (pod: V1Pod) =>
  statuses(pod).some((s) => ["ErrImagePull", "ImagePullBackOff"].includes(s.state?.waiting?.reason ?? ""));

/** Polls the pod until `done` (a minute at most); the timeout's message tells its phase and containers. */
export async function waitForPod(
  core: CoreV1Api,
  namespace: string,
  name: string,
  done: (pod: V1Pod) => boolean,
): Promise<V1Pod> {
  const timeoutMs = 60_000;
  const deadline = Date.now() + timeoutMs;
  let last: V1Pod | undefined;
  for (;;) {
    last = await core.readNamespacedPod({ namespace, name }).catch(() => last);
    if (last && done(last)) return last;
    if (Date.now() > deadline) {
      const states = last
        ? JSON.stringify(statuses(last).map((s) => ({ name: s.name, state: s.state })))
        : "none";
      throw new Error(
        `pod ${namespace}/${name}: not as wanted within ${timeoutMs} ms (phase ${last?.status?.phase}, containers ${states})`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The kubelet's Events about a pod, as `reason: message`. */
export async function podEvents(core: CoreV1Api, namespace: string, name: string): Promise<string[]> {
  const events = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return events.items.map((e) => `${e.reason}: ${e.message}`);
}

/** Kills a container's process, as the OOM killer or a crash would: the kubelet restarts it. */
export async function killContainer(node: NodeState, containerId: string): Promise<void> {
  const id = containerId.replace(/^containerd:\/\//, "");
  await run(node.ctr, ["-a", node.containerdSocket, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", id], {
    timeout: 20_000,
  });
}

/** Removes an image from the node, so the next pod that names it must pull. */
export async function removeImage(node: NodeState, image: string): Promise<void> {
  await run(node.ctr, ["-a", node.containerdSocket, "-n", "k8s.io", "images", "rm", image], {
    timeout: 20_000,
  }).catch(() => undefined);
}

import { CoordinationV1Api, type KubeConfig, type V1Lease } from "@kubernetes/client-node";
import { apiFailure, failureLabel, isNotFound, type ApiFailure } from "../kube/api-errors.js";
import { microTime } from "../kube/micro-time.js";
import { API_TIMEOUT_MS, withTimeout } from "../kube/request-options.js";
import type { Logger } from "../log/logger.js";
import type { Metrics } from "../metrics/metrics.js";

export interface LeaderElectionOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  /** How long a lease not renewed stays someone else's (whole seconds on the wire). */
  readonly leaseDurationMs: number;
  /** A leader that could not renew for this long steps down. Below leaseDurationMs. */
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => Promise<void> | void;
}

/** A Lease that cannot be written is reported at once, then this often while it lasts. */
const FAILURE_LOG_EVERY_MS = 30_000;

export interface LeaderElection {
  isLeader(): boolean;
  /** Stops campaigning; a leader stops its work first and then hands the Lease back at once. */
  stop(options?: { release?: boolean }): Promise<void>;
}

/**
 * Lease-based election as client-go does it: a candidate takes the Lease when it is free, released,
 * or unrenewed for leaseDuration as observed on this machine's clock (so clock skew between nodes
 * does not matter), and the holder renews every retryPeriod.
 */
export function startLeaderElection(o: LeaderElectionOptions): LeaderElection {
  const api = o.kubeConfig.makeApiClient(CoordinationV1Api);
  const now = o.now ?? Date.now;
  const leaseSeconds = Math.max(1, Math.round(o.leaseDurationMs / 1000));
  // A renewal that cannot finish before the renew deadline is as good as failed.
  const timeout = withTimeout(Math.min(API_TIMEOUT_MS, o.renewDeadlineMs));
  let leader = false;
  let stopped = false;
  let lastRenew = 0;
  let observed: { key: string; at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> | undefined;

  const spec = (previous?: V1Lease["spec"]) => {
    const at = microTime(now());
    const takeover = previous?.holderIdentity !== o.identity;
    return {
      holderIdentity: o.identity,
      leaseDurationSeconds: leaseSeconds,
      acquireTime: takeover ? at : previous?.acquireTime,
      renewTime: at,
      // As client-go counts: every change of holder of an existing Lease, a released one included.
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (takeover && previous ? 1 : 0),
    };
  };

  const freeFor = (lease: V1Lease): boolean => {
    const holder = lease.spec?.holderIdentity;
    if (!holder || holder === o.identity) return true;
    // Expiry is judged from when *we* saw the record change, never from the remote timestamps.
    const key = `${holder}|${String(lease.spec?.renewTime)}|${lease.metadata?.resourceVersion}`;
    if (observed?.key !== key) observed = { key, at: now() };
    const duration = (lease.spec?.leaseDurationSeconds ?? leaseSeconds) * 1000;
    return now() - observed.at > duration;
  };

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ namespace: o.namespace, name: o.name }, timeout);
    } catch (error) {
      if (!isNotFound(apiFailure(error))) throw error;
      await api.createNamespacedLease(
        {
          namespace: o.namespace,
          body: { metadata: { name: o.name, namespace: o.namespace }, spec: spec() },
        },
        timeout,
      );
      return true;
    }
    if (!freeFor(lease)) return false;
    await api.replaceNamespacedLease(
      {
        namespace: o.namespace,
        name: o.name,
        body: { ...lease, spec: spec(lease.spec) },
      },
      timeout,
    );
    return true;
  };

  const setLeader = async (value: boolean) => {
    if (value === leader) return;
    leader = value;
    o.metrics?.isLeader.set(value ? 1 : 0);
    o.logger.info(
      { identity: o.identity, lease: `${o.namespace}/${o.name}` },
      value ? "became leader" : "stopped leading",
    );
    if (value) o.onStartedLeading();
    else await o.onStoppedLeading();
  };

  /** A run of failed rounds: reported when it starts and then every FAILURE_LOG_EVERY_MS. */
  let failing: { since: number; loggedAt: number } | undefined;
  const reportFailure = (failure: ApiFailure) => {
    o.metrics?.leaseWriteFailures.inc({ code: failureLabel(failure) });
    const at = now();
    failing ??= { since: at, loggedAt: -Infinity };
    if (at - failing.loggedAt < FAILURE_LOG_EVERY_MS) return;
    failing.loggedAt = at;
    o.logger.warn(
      {
        lease: `${o.namespace}/${o.name}`,
        code: failure.code,
        err: failure.message,
        failingForMs: at - failing.since,
      },
      leader
        ? "could not renew the leader Lease"
        : "cannot become leader: the Lease could not be read or written; rotation and opt-in/opt-out wait for a leader",
    );
  };

  const round = async () => {
    try {
      const held = await tryAcquireOrRenew();
      if (held) lastRenew = now();
      if (failing) o.logger.info({ lease: `${o.namespace}/${o.name}` }, "leader Lease reachable again");
      failing = undefined;
      await setLeader(held);
    } catch (error) {
      reportFailure(apiFailure(error));
      if (leader && now() - lastRenew > o.renewDeadlineMs) {
        o.logger.warn(
          { lease: `${o.namespace}/${o.name}`, renewDeadlineMs: o.renewDeadlineMs },
          "lost leadership: the Lease was not renewed within the renew deadline",
        );
        await setLeader(false);
      }
    }
  };

  const loop = () => {
    if (stopped) return;
    tick = round().finally(() => {
      if (!stopped) timer = setTimeout(loop, o.retryPeriodMs);
    });
  };
  loop();

  return {
    isLeader: () => leader,
    async stop({ release = true } = {}) {
      stopped = true;
      clearTimeout(timer);
      await tick;
      const wasLeader = leader;
      await setLeader(false);
      if (!wasLeader || !release) return;
      try {
        const lease = await api.readNamespacedLease({ namespace: o.namespace, name: o.name }, timeout);
        if (lease.spec?.holderIdentity !== o.identity) return;
        // An empty holder lets the next candidate take over on its next try, without waiting.
        await api.replaceNamespacedLease(
          {
            namespace: o.namespace,
            name: o.name,
            body: {
              ...lease,
              spec: {
                ...lease.spec,
                holderIdentity: "",
                leaseDurationSeconds: 1,
                renewTime: microTime(now()),
              },
            },
          },
          timeout,
        );
        o.logger.info({ lease: `${o.namespace}/${o.name}` }, "leader lease released");
      } catch (error) {
        o.logger.warn(
          { err: apiFailure(error).message },
          "could not release the leader lease; it will expire",
        );
      }
    },
  };
}

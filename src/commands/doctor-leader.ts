import { CoordinationV1Api, type KubeConfig, type V1Lease } from "@kubernetes/client-node";
import type { Config } from "../config/config.js";
import { LEASE_NAME } from "../controller/controller.js";
import { apiFailure, isNotFound } from "../kube/api-errors.js";
import { withTimeout } from "../kube/request-options.js";
import type { CheckResult } from "./doctor-checks.js";

const LOGS = 'look in the webhook\'s logs for "cannot become leader" or "lost leadership"';

/**
 * Whether a replica leads (and so rotates and follows opt-in/opt-out): who holds the Lease and how
 * long ago it was renewed, judged against the Lease's own duration. Pure.
 */
export function leaderCheck(lease: V1Lease | undefined, where: string, now: Date): CheckResult {
  if (!lease) {
    return {
      ok: false,
      line: `no leader Lease ${where}: no replica has ever led, so nothing rotates`,
      fix: `check that the webhook runs with --leader-elect=true and ${LOGS}`,
    };
  }
  const holder = lease.spec?.holderIdentity;
  const renewed = new Date(String(lease.spec?.renewTime ?? "")).getTime();
  const ago = Number.isNaN(renewed) ? undefined : Math.max(0, Math.round((now.getTime() - renewed) / 1000));
  const duration = lease.spec?.leaseDurationSeconds ?? 15;
  const renewedText = ago === undefined ? "never renewed" : `renewed ${ago}s ago`;
  if (!holder) {
    return {
      ok: false,
      line: `leader Lease ${where} is released (${renewedText}): no replica leads, so nothing rotates`,
      fix: `check that a webhook replica is running; ${LOGS}`,
    };
  }
  if (ago === undefined || ago > duration) {
    return {
      ok: false,
      line: `leader Lease ${where} is held by ${holder} but ${renewedText} (lease duration ${duration}s): the holder stopped renewing`,
      fix: `check that replica, or wait ${duration}s for another to take over; ${LOGS}`,
    };
  }
  return {
    ok: true,
    line: `leader: ${holder} holds the Lease ${where}, ${renewedText} (lease duration ${duration}s)`,
  };
}

export async function checkLeader(kc: KubeConfig, config: Config, now: Date): Promise<CheckResult> {
  const namespace = config.webhookNamespace;
  const where = `${namespace}/${LEASE_NAME}`;
  try {
    const lease = await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace, name: LEASE_NAME }, withTimeout());
    return leaderCheck(lease, where, now);
  } catch (error) {
    if (isNotFound(apiFailure(error))) return leaderCheck(undefined, where, now);
    throw error;
  }
}

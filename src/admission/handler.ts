import type { AdmissionPolicy } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import type { Metrics } from "../metrics/metrics.js";
import { decide, type Decision } from "./decide.js";
import type { CredentialEnsurer, EnsureResult, EventRecorder } from "./ensurer.js";
import type { NamespaceSource } from "./namespace-meta.js";
import { allowed, patched, type Verdict } from "./response.js";
import type { AdmissionReview } from "./review.js";

export interface HandlerDeps {
  readonly policy: AdmissionPolicy;
  readonly namespaces: NamespaceSource;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Absent in `explain` and in pure handler tests: the patch is computed, nothing is ensured. */
  readonly ensurer?: CredentialEnsurer;
  readonly events?: EventRecorder;
  /** Longest a review waits for its Secret; the caller passes min(--admission-deadline, API server timeout). */
  readonly deadlineMs: number;
}

export type ReviewHandler = (review: AdmissionReview, deadlineMs?: number) => Promise<Verdict>;

/**
 * Orchestrates one review: look up the namespace, decide (pure), make sure the Secret is there
 * (bounded by the deadline), answer. Any fault admits the object unchanged: the webhook fails open
 * so that it can never block pod creation.
 */
export function createReviewHandler(deps: HandlerDeps): ReviewHandler {
  return async (review, deadlineMs = deps.deadlineMs) => {
    const { request } = review;
    const log = deps.logger.child({
      uid: request.uid,
      kind: request.kind.kind,
      namespace: request.namespace,
      name: request.name,
      operation: request.operation,
      dryRun: request.dryRun,
    });
    let decision: Decision;
    try {
      const namespace = request.namespace ? await deps.namespaces.get(request.namespace) : undefined;
      decision = decide(request, namespace, deps.policy);
    } catch (error) {
      log.error({ err: error }, "admission decision failed; admitting unchanged");
      deps.metrics.reviews.inc({ kind: request.kind.kind, outcome: "failed_open" });
      return allowed([`ecr-webhook: internal error, ${request.kind.kind} admitted unchanged`]);
    }
    if (decision.action === "skip") {
      log.debug({ reason: decision.reason, warnings: decision.warnings }, "admitted unchanged");
      deps.metrics.reviews.inc({ kind: request.kind.kind, outcome: "unchanged" });
      return allowed(decision.warnings);
    }
    const warnings = [...decision.warnings];
    if (decision.registries.length > 0 && !request.dryRun && deps.ensurer && request.namespace) {
      const problem = await ensureWithin(deps, request.namespace, decision, deadlineMs);
      if (problem) {
        warnings.push(problem.warning);
        deps.metrics.admissionFallbacks.inc({ reason: problem.reason });
        log.warn(
          { reason: problem.reason, detail: problem.detail },
          "admitted before the pull Secret was confirmed",
        );
      }
    }
    const outcome = decision.patch.length > 0 ? "patched" : "unchanged";
    deps.metrics.reviews.inc({ kind: request.kind.kind, outcome });
    if (decision.patch.length > 0) deps.metrics.patches.inc({ kind: request.kind.kind });
    log.info(
      { outcome, registries: decision.registries.map((r) => r.host), warnings: warnings.length },
      "reviewed",
    );
    return patched(decision.patch, warnings);
  };
}

interface EnsureProblem {
  reason: string;
  warning: string;
  detail: string;
}

const TIMED_OUT = Symbol("timed out");

/**
 * Waits for the ensure at most `deadlineMs`. The ensure itself is not cancelled: it finishes (and
 * retries) in the background, so the Secret is there shortly even when this pod could not wait.
 */
async function ensureWithin(
  deps: HandlerDeps,
  namespace: string,
  decision: Extract<Decision, { action: "inject" }>,
  deadlineMs: number,
): Promise<EnsureProblem | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), deadlineMs);
  });
  const ensuring = deps
    .ensurer!.ensure(namespace, decision.registries)
    .catch((error: unknown): EnsureResult => ({
      ok: false,
      reason: "error",
      message: (error as Error).message,
    }));
  const result = await Promise.race([ensuring, deadline]);
  clearTimeout(timer);
  const problem = describeProblem(result, deadlineMs);
  if (problem) {
    deps.events?.namespaceEvent(namespace, {
      type: "Warning",
      reason: "PullSecretNotReady",
      message: `${decision.target} admitted before Secret was ready: ${problem.detail}`,
    });
  }
  return problem;
}

function describeProblem(
  result: EnsureResult | typeof TIMED_OUT,
  deadlineMs: number,
): EnsureProblem | undefined {
  if (result === TIMED_OUT) {
    const detail = `not confirmed within ${deadlineMs}ms; it is being completed in the background`;
    return { reason: "timeout", detail, warning: `ecr-webhook: pull Secret ${detail}` };
  }
  if (result.ok) return undefined;
  return {
    reason: result.reason,
    detail: result.message,
    warning: `ecr-webhook: pull Secret not ready: ${result.message}`,
  };
}

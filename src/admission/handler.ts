import type { AdmissionPolicy } from "../config/config.js";
import { withFields, type FieldLogger, type Logger } from "../log/logger.js";
import { kindLabel, type Metrics } from "../metrics/metrics.js";
import { decide, type Decision } from "./decide.js";
import type { CredentialEnsurer, EnsureResult } from "../secrets/credential-ensurer.js";
import type { EventRecorder } from "../kube/events.js";
import type { NamespaceMeta, NamespaceSource } from "../policy/namespace.js";
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
  /** Longest a review waits; the caller passes min(--admission-deadline, API server timeout). */
  readonly deadlineMs: number;
}

/**
 * Answers one review. `later`, when given, receives work that is not part of the answer (the
 * review's log line), to be run once the answer is written; without it that work runs at once.
 */
export type ReviewHandler = (
  review: AdmissionReview,
  deadlineMs?: number,
  later?: (work: () => void) => void,
) => Promise<Verdict>;

const TIMED_OUT = Symbol("timed out");

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> => value instanceof Promise;

/** Waits for `work` at most `ms`; the work itself goes on (and finishes in the background). */
async function within<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** `then` applied at once to a value at hand, as a continuation to a promise. */
const thenOrNow = <T, R>(value: T | Promise<T>, then: (v: T) => R | Promise<R>): R | Promise<R> =>
  isPromise(value) ? value.then(then) : then(value);

const runNow = (work: () => void) => work();

/**
 * Orchestrates one review: look up the namespace, decide (pure), make sure the Secret is there, and
 * answer, all within the deadline. Any fault admits the object unchanged: the webhook fails open so
 * that it can never block pod creation. The warm path (namespace cached, Secret fresh) runs through
 * without waiting on a promise: nothing in it is asynchronous.
 */
export function createReviewHandler(deps: HandlerDeps): ReviewHandler {
  return (review, deadlineMs = deps.deadlineMs, later = runNow) => {
    const started = Date.now();
    const { request } = review;
    // The metric label: a fixed set of values, whatever kind the request names.
    const kind = kindLabel(request.kind.kind);
    const log = withFields(deps.logger, {
      uid: request.uid,
      kind: request.kind.kind,
      namespace: request.namespace,
      name: request.name,
      operation: request.operation,
      dryRun: request.dryRun,
    });
    const failOpen = (warning: string, error?: unknown) => {
      log.error({ err: error }, `${warning}; admitting unchanged`);
      deps.metrics.reviews.inc({ kind, outcome: "failed_open" });
      return allowed([`ecr-webhook: ${warning}, ${request.kind.kind} admitted unchanged`]);
    };
    const decided = (found: NamespaceMeta | undefined | typeof TIMED_OUT): Verdict | Promise<Verdict> => {
      if (found === TIMED_OUT) return failOpen(`namespace lookup took longer than ${deadlineMs}ms`);
      let decision: Decision;
      try {
        decision = decide(request, found, deps.policy);
      } catch (error) {
        return failOpen("internal error", error);
      }
      if (decision.action === "skip") {
        log.debug({ reason: decision.reason, warnings: decision.warnings }, "admitted unchanged");
        deps.metrics.reviews.inc({ kind, outcome: "unchanged" });
        return allowed(decision.warnings);
      }
      if (decision.action === "strip") {
        log.info({ reason: decision.reason }, "opted-out pod: the pull Secret reference removed");
        deps.metrics.reviews.inc({ kind, outcome: "patched" });
        deps.metrics.patches.inc({ kind });
        return patched(decision.patch, decision.warnings);
      }
      const ensureIn = request.dryRun ? undefined : found;
      const time = { remainingMs: deadlineMs - (Date.now() - started), deadlineMs };
      // This frame, and with it the parsed review, is released while the answer waits for the
      // Secret (in a burst, a thousand reviews can be waiting at once).
      return answer(deps, { kind, log, ensureIn, time, later }, decision);
    };
    let verdict: Verdict | Promise<Verdict>;
    try {
      const lookup = request.namespace ? deps.namespaces.get(request.namespace) : undefined;
      verdict = isPromise(lookup)
        ? within(lookup, deadlineMs).then(decided, (error: unknown) => failOpen("internal error", error))
        : decided(lookup);
    } catch (error) {
      verdict = failOpen("internal error", error);
    }
    return isPromise(verdict) ? verdict : Promise.resolve(verdict);
  };
}

interface Answering {
  kind: string;
  log: FieldLogger;
  ensureIn: NamespaceMeta | undefined;
  time: Time;
  later: (work: () => void) => void;
}

/** The rest of a review once decided: wait for the Secret (if any is needed), count, log, patch. */
function answer(
  deps: HandlerDeps,
  review: Answering,
  decision: Extract<Decision, { action: "inject" }>,
): Verdict | Promise<Verdict> {
  const { kind, log } = review;
  const warnings = [...decision.warnings];
  const finish = (problem: EnsureProblem | undefined): Verdict => {
    if (problem) {
      warnings.push(problem.warning);
      deps.metrics.admissionFallbacks.inc({ reason: problem.reason });
      log.warn(
        { reason: problem.reason, detail: problem.detail },
        "admitted before the pull Secret was confirmed",
      );
    }
    const outcome = decision.patch.length > 0 ? "patched" : "unchanged";
    deps.metrics.reviews.inc({ kind, outcome });
    if (decision.patch.length > 0) deps.metrics.patches.inc({ kind });
    const registries = decision.registries.map((r) => r.host);
    // Once the answer is written (when the caller says when): the line's write, a syscall, is not
    // on the API server's clock.
    review.later(() => log.info({ outcome, registries, warnings: warnings.length }, "reviewed"));
    return patched(decision.patch, warnings);
  };
  if (decision.registries.length > 0 && deps.ensurer && review.ensureIn)
    return thenOrNow(ensureWithin(deps, review.ensureIn, decision, review.time), finish);
  return finish(undefined);
}

interface Time {
  remainingMs: number;
  deadlineMs: number;
}

interface EnsureProblem {
  reason: string;
  warning: string;
  detail: string;
}

/**
 * Waits for the ensure for what is left of the review's deadline. The ensure itself is not cancelled: it finishes (and
 * retries) in the background, so the Secret is there shortly even when this pod could not wait.
 */
function ensureWithin(
  deps: HandlerDeps,
  namespace: NamespaceMeta,
  decision: Extract<Decision, { action: "inject" }>,
  time: Time,
): EnsureProblem | undefined | Promise<EnsureProblem | undefined> {
  const ensuring = deps.ensurer!.ensure(namespace, decision.registries);
  const judged = (result: EnsureResult | typeof TIMED_OUT) => {
    const problem = describeProblem(result, time.deadlineMs);
    if (problem) {
      deps.events?.pullSecretEvent(namespace.name, {
        type: "Warning",
        reason: "PullSecretNotReady",
        message: `${decision.target} admitted before Secret was ready: ${problem.detail}`,
      });
    }
    return problem;
  };
  if (!isPromise(ensuring)) return judged(ensuring);
  const settled = ensuring.catch((error: unknown): EnsureResult => ({
    ok: false,
    reason: "error",
    message: (error as Error).message,
  }));
  return within(settled, time.remainingMs).then(judged);
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

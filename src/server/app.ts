import express, { type ErrorRequestHandler, type Request, type Response } from "express";
import type { ReviewHandler } from "../admission/handler.js";
import { encodeResponse, reviewEnvelope } from "../admission/response.js";
import { decodeReview, type BadReviewError } from "../admission/review.js";
import type { Logger } from "../log/logger.js";
import { kindLabel, type Metrics } from "../metrics/metrics.js";
import { parseDuration } from "../config/duration.js";

/** Largest AdmissionReview body accepted. The API server itself caps requests at 3 MiB. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Margin kept between our answer and the API server's own `?timeout=`, for the trip back. */
const TIMEOUT_MARGIN_MS = 500;

export interface Readiness {
  (): { ok: boolean; checks: Record<string, string> };
}

export interface AppDeps {
  readonly handle: ReviewHandler;
  readonly deadlineMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly readiness: Readiness;
  /**
   * True while shutting down: every response then carries `Connection: close`, so each client
   * retires its connection after a complete answer instead of having it cut under a request.
   */
  readonly draining?: () => boolean;
}

function sendError(res: Response, status: number, message: string): void {
  res.status(status).json({ error: message });
}

/**
 * Decode → handle → encode. The HTTP layer turns bytes into a typed review and back; everything it
 * cannot decode is a 4xx with a one-line JSON error, never a 5xx and never a stack trace.
 */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.set("query parser", "simple");
  app.use((_req, res, next) => {
    if (deps.draining?.()) res.set("Connection", "close");
    next();
  });

  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok");
  });
  app.get("/readyz", (_req, res) => {
    const state = deps.readiness();
    res.status(state.ok ? 200 : 503).json(state);
  });

  app.post(
    "/mutate",
    (req, res, next) => {
      if (!req.is("application/json")) return sendError(res, 415, "content-type must be application/json");
      next();
    },
    express.json({ limit: MAX_BODY_BYTES, strict: false }),
    async (req: Request, res: Response) => {
      const started = process.hrtime.bigint();
      let review;
      try {
        review = decodeReview(req.body);
      } catch (error) {
        deps.metrics.reviews.inc({ kind: "unknown", outcome: "rejected" });
        return sendError(res, 400, (error as BadReviewError).message);
      }
      deps.metrics.inFlight.inc();
      // A review may wait for its Secret, a thousand at once in a burst: past this point only what
      // the answer needs is kept, not the parsed object (the handler drops it once it has decided).
      const envelope = reviewEnvelope(review);
      req.body = undefined;
      try {
        const verdict = await deps.handle(review, effectiveDeadline(req, deps.deadlineMs));
        res.json(encodeResponse(envelope, verdict));
      } finally {
        deps.metrics.inFlight.dec();
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        deps.metrics.reviewDuration.observe({ kind: kindLabel(envelope.kind) }, seconds);
      }
    },
  );

  app.use((_req, res) =>
    sendError(res, 404, "not found; the webhook serves POST /mutate, GET /healthz and GET /readyz"),
  );
  app.use(errorHandler(deps.logger));
  return app;
}

/** The API server says how long it waits (`?timeout=5s`); never make it wait longer than that. */
function effectiveDeadline(req: Request, configured: number): number {
  const raw = typeof req.query.timeout === "string" ? parseDuration(req.query.timeout) : undefined;
  return raw === undefined ? configured : Math.max(0, Math.min(configured, raw - TIMEOUT_MARGIN_MS));
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: { status?: number; type?: string; message?: string }, _req, res, _next) => {
    if (error.type === "entity.too.large")
      return sendError(res, 413, `body larger than ${MAX_BODY_BYTES} bytes`);
    if (error.type === "entity.parse.failed") return sendError(res, 400, "body is not valid JSON");
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : undefined;
    if (status) return sendError(res, status, error.message ?? "bad request");
    logger.error({ err: error }, "unexpected error while serving a request");
    if (!res.headersSent) sendError(res, 500, "internal error");
  };
}

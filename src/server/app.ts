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
  // Reviews first: the API server's requests match the first route, and meet no middleware.
  app.post("/mutate", (req, res, next) => {
    if (deps.draining?.()) res.setHeader("Connection", "close");
    if (!isJson(req)) return sendError(res, 415, "content-type must be application/json");
    if (!plainBody(req)) {
      // Compressed, another charset, or declared over the limit: the generic parser decodes, caps
      // and drains it.
      return genericJson(req, res, (error?: unknown) =>
        error ? next(error) : review(deps, req, res, req.body).catch(next),
      );
    }
    readPlainBody(req, (error, body) => (error ? next(error) : review(deps, req, res, body).catch(next)));
  });
  app.use((req, res, next) => {
    if (deps.draining?.()) res.setHeader("Connection", "close");
    next();
  });

  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok");
  });
  app.get("/readyz", (_req, res) => {
    const state = deps.readiness();
    res.status(state.ok ? 200 : 503).json(state);
  });

  app.use((_req, res) =>
    sendError(res, 404, "not found; the webhook serves POST /mutate, GET /healthz and GET /readyz"),
  );
  app.use(errorHandler(deps.logger));
  return app;
}

const genericJson = express.json({ limit: MAX_BODY_BYTES, strict: false });

/** Decode → handle → encode → write; the review's own metrics around it. */
async function review(deps: AppDeps, req: Request, res: Response, body: unknown): Promise<void> {
  const started = process.hrtime.bigint();
  let decoded;
  try {
    decoded = decodeReview(body);
  } catch (error) {
    deps.metrics.reviews.inc({ kind: "unknown", outcome: "rejected" });
    return sendError(res, 400, (error as BadReviewError).message);
  }
  deps.metrics.inFlight.inc();
  // A review may wait for its Secret, a thousand at once in a burst: past this point only what
  // the answer needs is kept, not the parsed object (the handler drops it once it has decided).
  const envelope = reviewEnvelope(decoded);
  req.body = undefined;
  // What the handler leaves for after the answer (its log line) runs once the answer is written.
  const after: (() => void)[] = [];
  try {
    const verdict = await deps.handle(decoded, effectiveDeadline(req.url, deps.deadlineMs), (work) =>
      after.push(work),
    );
    const text = JSON.stringify(encodeResponse(envelope, verdict));
    res.writeHead(200, { "Content-Type": JSON_TYPE, "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  } finally {
    for (const work of after) work();
    deps.metrics.inFlight.dec();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    deps.metrics.reviewDuration.observe({ kind: kindLabel(envelope.kind) }, seconds);
  }
}

const JSON_TYPE = "application/json; charset=utf-8";

/** What `req.is("application/json")` answers: a body, and its media type application/json. */
function isJson(req: Request): boolean {
  const type = req.headers["content-type"];
  if (type === "application/json") return hasBody(req);
  return typeof req.is === "function" && req.is("application/json") === "application/json";
}

const hasBody = (req: Request) =>
  req.headers["transfer-encoding"] !== undefined || req.headers["content-length"] !== undefined;

/** Uncompressed UTF-8 (the API server's requests), declared within the limit if declared. */
function plainBody(req: Request): boolean {
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") return false;
  const type = req.headers["content-type"]!;
  if (type !== "application/json" && !/^application\/json\s*;\s*charset="?utf-8"?\s*$/i.test(type))
    return false;
  const length = req.headers["content-length"];
  return length === undefined || Number(length) <= MAX_BODY_BYTES;
}

/** An error the error handler turns into the same 4xx as express.json's. */
const bodyError = (type: string, status: number) => Object.assign(new Error(type), { type, status });

/**
 * Reads a plain body and parses it as express.json({ strict: false }) would (an empty body is {}).
 * Past the limit, the rest is read and dropped, and the 413 comes once the client has sent it all.
 */
function readPlainBody(req: Request, done: (error: Error | undefined, body?: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    else chunks.length = 0;
  });
  req.once("error", (error) => {
    if (!settled) done(Object.assign(error, { status: 400 }));
    settled = true;
  });
  req.once("end", () => {
    if (settled) return;
    settled = true;
    if (size > MAX_BODY_BYTES) return done(bodyError("entity.too.large", 413));
    const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString("utf8");
    if (text.length === 0) return done(undefined, {});
    let body: unknown;
    try {
      body = parseJson(text);
    } catch {
      return done(bodyError("entity.parse.failed", 400));
    }
    done(undefined, body);
  });
}

/** JSON.parse, a byte-order mark ignored (as body-parser's decoding does). */
function parseJson(text: string): unknown {
  return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}

/** The API server says how long it waits (`?timeout=5s`); never make it wait longer than that. */
function effectiveDeadline(url: string, configured: number): number {
  const timeout = /[?&]timeout=([^&]*)/.exec(url)?.[1];
  const raw = timeout === undefined ? undefined : parseDuration(decodeURIComponent(timeout));
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

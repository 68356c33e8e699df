/**
 * Untrusted input to POST /mutate, over real HTTPS to a real running webhook: arbitrary bytes,
 * arbitrary JSON, AdmissionReview-shaped JSON with arbitrary values, recorded reviews with fields
 * replaced or deleted at random, random content types, content encodings and `?timeout=` values.
 * Whatever arrives, the answer is a well-formed 200 or a one-line JSON 4xx (200 exactly when the body
 * is a decodable review), never a 5xx; the server logs no unexpected error, nothing pollutes
 * Object.prototype, and a normal review is still answered correctly after each batch.
 */
import { Agent } from "node:https";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import fastJsonPatch, { type Operation } from "fast-json-patch";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BadReviewError,
  SUPPORTED_VERSIONS,
  decodeReview,
  type AdmissionReview,
} from "../../src/admission/review.js";
import { createLogger } from "../../src/log/logger.js";
import { ADMISSION_FIXTURES, loadReview, loadReviewText } from "../support/fixtures.js";
import { LogCapture } from "../support/harness.js";
import { decodePatch, httpsRequest, type HttpsResponse } from "../support/https-client.js";
import { startTestWebhook, type TestWebhook } from "../support/webhook.js";
import { SEED, image, pod, serviceAccount } from "./arbitraries.js";

const { applyPatch } = fastJsonPatch;

const SECRET = "ecr-pull-secret";
const ECR_REVIEW = loadReview("pod-create-ecr.json");

let webhook: TestWebhook;
let agent: Agent;
const logs = new LogCapture();
let requestsSent = 0;
/** Answers by kind, per property: each must exercise both the accepted and the refused path. */
let tally: Record<string, number> = {};
const count = (outcome: string) => (tally[outcome] = (tally[outcome] ?? 0) + 1);

beforeAll(async () => {
  webhook = await startTestWebhook({ logger: createLogger("debug", logs) });
  agent = new Agent({ keepAlive: true, maxSockets: 4 });
});

afterAll(async () => {
  agent?.destroy();
  await webhook?.close();
});

function post(body: string | Buffer, headers: Record<string, string> = {}, path?: string) {
  requestsSent++;
  return httpsRequest({ port: webhook.port, ca: webhook.ca, agent, body, headers, path });
}

const isRecord = (value: unknown): value is Record<string, any> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The normal review still gets exactly the right answer: the server survived what came before. */
async function expectStillServing(): Promise<void> {
  const health = await httpsRequest({
    port: webhook.port,
    ca: webhook.ca,
    agent,
    method: "GET",
    path: "/healthz",
  });
  expect(health.status).toBe(200);
  const res = await post(loadReviewText("pod-create-ecr.json"));
  expect(res.status).toBe(200);
  const body = res.json();
  expect(body).toEqual({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: {
      uid: ECR_REVIEW.request.uid,
      allowed: true,
      patchType: "JSONPatch",
      patch: expect.any(String),
    },
  });
  expect(decodePatch(body)).toEqual([
    { op: "add", path: "/spec/imagePullSecrets", value: [{ name: SECRET }] },
  ]);
}

afterEach(async () => {
  await expectStillServing();
  tally = {};
});

/** A 200 that is a complete AdmissionReview answer, or a 4xx with a one-line JSON error; never a 5xx. */
function expectWellFormed(res: HttpsResponse): any {
  expect(res.status, res.text).toBeGreaterThanOrEqual(200);
  expect(res.status, res.text).toBeLessThan(500);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  const body = res.json();
  count(String(res.status));
  if (res.status !== 200) {
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(Object.keys(body)).toEqual(["error"]);
    expect(body.error).toMatch(/^[^\n]+$/);
    expect(body.error).not.toMatch(/\bat .*\.(ts|js):\d+/);
    return body;
  }
  expect(body.kind).toBe("AdmissionReview");
  expect(SUPPORTED_VERSIONS).toContain(body.apiVersion);
  expect(body.response.allowed).toBe(true);
  expect(typeof body.response.uid).toBe("string");
  if (body.response.patch !== undefined) {
    expect(body.response.patchType).toBe("JSONPatch");
    expect(Array.isArray(decodePatch(body))).toBe(true);
  }
  for (const warning of body.response.warnings ?? []) {
    expect(warning.length).toBeLessThanOrEqual(256);
    expect(warning).not.toMatch(/\p{Cc}/u);
  }
  return body;
}

/**
 * Where the API server could apply the patch (the object is a Pod with a spec, or a ServiceAccount
 * with metadata, as every object it sends is), the patch applies cleanly and adds the reference.
 */
function expectPatchApplies(review: AdmissionReview, body: any): void {
  const patch = decodePatch(body) as Operation[] | undefined;
  if (!patch) return;
  const object = review.request.object;
  if (!isRecord(object)) return;
  const kind = review.request.kind.kind;
  if (kind === "Pod" && !isRecord(object.spec)) return;
  if (kind === "ServiceAccount" && !isRecord(object.metadata)) return;
  const copy = JSON.parse(JSON.stringify(object));
  const patched = applyPatch(copy, patch, true, false).newDocument;
  count("patch applied");
  const holder = kind === "Pod" ? patched.spec : patched;
  expect(holder.imagePullSecrets.filter((ref: any) => ref?.name === SECRET).length).toBeGreaterThanOrEqual(1);
}

/** Sends a JSON value; the webhook answers 200 exactly when the review decodes, echoing its uid. */
async function sendJson(value: unknown): Promise<void> {
  const wire = JSON.stringify(value);
  const res = await post(wire);
  const body = expectWellFormed(res);
  let review: AdmissionReview | undefined;
  try {
    review = decodeReview(JSON.parse(wire));
  } catch (error) {
    expect(error).toBeInstanceOf(BadReviewError);
  }
  expect(res.status, res.text).toBe(review ? 200 : 400);
  if (!review) return;
  expect(body.apiVersion).toBe(review.apiVersion);
  expect(body.response.uid).toBe(review.request.uid);
  expectPatchApplies(review, body);
}

// ---------------------------------------------------------------------------------------------------
// Generators of hostile input.

const HOSTILE_VALUES: unknown[] = [
  null,
  "",
  0,
  -1,
  1e308,
  true,
  [],
  {},
  "CREATE",
  "Pod",
  "ServiceAccount",
  "v1",
  "team-a",
  "kube-system",
  "\u0000\u001b[31m\n",
  "x".repeat(10_000),
  "123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
  [{ name: SECRET }, null, 7],
  JSON.parse('{"__proto__": {"polluted": "yes"}}'),
  JSON.parse('{"constructor": {"prototype": {"polluted": "yes"}}}'),
];

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_VALUES) },
  { weight: 1, arbitrary: image },
);

type Path = (string | number)[];

/** Fields the webhook reads: mutations aim here half of the time, the rest anywhere in the review. */
const INTERESTING: Path[] = [
  ["apiVersion"],
  ["kind"],
  ["request"],
  ["request", "uid"],
  ["request", "kind"],
  ["request", "kind", "group"],
  ["request", "kind", "version"],
  ["request", "kind", "kind"],
  ["request", "namespace"],
  ["request", "name"],
  ["request", "subResource"],
  ["request", "operation"],
  ["request", "dryRun"],
  ["request", "object"],
  ["request", "object", "metadata"],
  ["request", "object", "metadata", "annotations"],
  ["request", "object", "metadata", "annotations", "ecr-webhook.io/account"],
  ["request", "object", "metadata", "annotations", "ecr-webhook.io/region"],
  ["request", "object", "metadata", "annotations", "ecr-webhook.io/inject"],
  ["request", "object", "spec"],
  ["request", "object", "spec", "containers"],
  ["request", "object", "spec", "containers", 0],
  ["request", "object", "spec", "containers", 0, "image"],
  ["request", "object", "spec", "initContainers"],
  ["request", "object", "spec", "imagePullSecrets"],
  ["request", "object", "spec", "imagePullSecrets", 0],
  ["request", "object", "imagePullSecrets"],
];

function allPaths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : isRecord(value)
      ? Object.entries(value)
      : [];
  for (const [key, child] of entries) {
    out.push([...prefix, key]);
    allPaths(child, [...prefix, key], out);
  }
  return out;
}

interface Mutation {
  target: number | Path;
  op: "delete" | "replace";
  value: unknown;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  target: fc.oneof(fc.nat(), fc.constantFrom(...INTERESTING)),
  op: fc.constantFrom("delete", "replace"),
  value: hostileValue,
});

/** Deletes or replaces one field of `doc` in place (the parent must exist; own properties only). */
function applyMutation(doc: any, { target, op, value }: Mutation): void {
  const paths = allPaths(doc);
  const path = typeof target === "number" ? paths[target % Math.max(1, paths.length)] : target;
  if (!path || path.length === 0) return;
  let parent: unknown = doc;
  for (const key of path.slice(0, -1)) {
    parent = isRecord(parent) || Array.isArray(parent) ? (parent as any)[key] : undefined;
  }
  if (!isRecord(parent) && !Array.isArray(parent)) return;
  const key = path.at(-1)!;
  if (op === "delete") {
    if (Array.isArray(parent) && typeof key === "number") parent.splice(key, 1);
    else delete (parent as any)[key];
    return;
  }
  Object.defineProperty(parent, key, {
    value: JSON.parse(JSON.stringify(value)),
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** Mostly what the API server sends, sometimes something else it could send, sometimes anything. */
const usually = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 12, arbitrary }, { weight: 1, arbitrary: hostileValue });
const mostly = (main: string, ...others: string[]): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 10, arbitrary: fc.constant(main) },
    { weight: 1, arbitrary: fc.constantFrom(...others) },
    { weight: 1, arbitrary: hostileValue },
  );

/** JSON shaped like a review, with arbitrary values where the webhook looks. */
const reviewShaped = fc.record(
  {
    apiVersion: usually(fc.constantFrom(...SUPPORTED_VERSIONS)),
    kind: mostly("AdmissionReview", "AdmissionRequest"),
    request: usually(
      fc.record(
        {
          uid: usually(fc.string({ minLength: 1, maxLength: 40 })),
          kind: usually(
            fc.record({
              group: mostly("", "apps"),
              version: mostly("v1", "v1beta1"),
              kind: fc.oneof(
                { weight: 6, arbitrary: fc.constant("Pod") },
                { weight: 3, arbitrary: fc.constant("ServiceAccount") },
                { weight: 1, arbitrary: fc.constant("Deployment") },
                { weight: 1, arbitrary: hostileValue },
              ),
            }),
          ),
          namespace: mostly("team-a", "kube-system", "elsewhere"),
          operation: mostly("CREATE", "UPDATE"),
          subResource: fc.oneof(
            { weight: 10, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: fc.constantFrom("status", "ephemeralcontainers") },
            { weight: 1, arbitrary: hostileValue },
          ),
          dryRun: usually(fc.boolean()),
          object: usually(fc.oneof(pod, serviceAccount)),
        },
        { requiredKeys: ["uid", "kind", "namespace", "operation", "subResource", "object"] },
      ),
    ),
  },
  { requiredKeys: ["apiVersion", "kind", "request"] },
);

/** Each property must have exercised both the accepted and the refused path. */
function expectBothPaths(...refused: string[]): void {
  expect(tally["200"], JSON.stringify(tally)).toBeGreaterThan(0);
  for (const status of refused) expect(tally[status], JSON.stringify(tally)).toBeGreaterThan(0);
}

// ---------------------------------------------------------------------------------------------------

describe("POST /mutate with untrusted bodies never answers 5xx", () => {
  it("arbitrary bytes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          // Garbage around a real review, and a real review cut short.
          fc
            .tuple(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }))
            .map(([a, b]) => Buffer.concat([a, Buffer.from(loadReviewText("pod-create-ecr.json")), b])),
          fc.nat().map((n) => {
            const text = Buffer.from(loadReviewText("pod-create-ecr.json"));
            return text.subarray(0, n % text.length);
          }),
        ),
        async (bytes) => {
          const res = await post(Buffer.from(bytes));
          expectWellFormed(res);
        },
      ),
      { seed: SEED, numRuns: 50 },
    );
  });

  it("arbitrary JSON values", async () => {
    await fc.assert(fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), sendJson), { seed: SEED, numRuns: 50 });
  });

  it("AdmissionReview-shaped JSON with arbitrary values, pods and ServiceAccounts", async () => {
    await fc.assert(fc.asyncProperty(reviewShaped, sendJson), { seed: SEED, numRuns: 80 });
    expectBothPaths("400", "patch applied");
  });

  it("recorded reviews with fields replaced or deleted at random", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ADMISSION_FIXTURES),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        async (fixture, mutations) => {
          const doc = loadReview(fixture);
          for (const m of mutations) applyMutation(doc, m);
          await sendJson(doc);
        },
      ),
      { seed: SEED, numRuns: 100 },
    );
    expectBothPaths("400", "patch applied");
    // What the recorded-review mutations do to the prototype would show in this very process.
    expect(({} as any).polluted).toBeUndefined();
  });
});

describe("POST /mutate with random content types, encodings and deadlines", () => {
  const printable = fc.stringMatching(/^[\x20-\x7e]{0,30}$/);
  const encoders: Record<string, (b: Buffer) => Buffer> = {
    none: (b) => b,
    gzip: (b) => gzipSync(b),
    deflate: (b) => deflateSync(b),
    br: (b) => brotliCompressSync(b),
  };
  const JSON_TYPES = ["application/json", "application/json; charset=utf-8"];

  it("content-type × content-encoding × how the body is really encoded", async () => {
    const DECLARED: Record<string, string | undefined> = {
      none: undefined,
      gzip: "gzip",
      deflate: "deflate",
      br: "br",
    };
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          contentType: fc.oneof(
            { weight: 4, arbitrary: fc.constantFrom(...JSON_TYPES) },
            {
              weight: 2,
              arbitrary: fc.constantFrom(
                "application/json; charset=utf-16",
                "application/json; charset=latin1",
                "APPLICATION/JSON",
                "application/json;;a=",
                "application/merge-patch+json",
                "text/plain",
                "multipart/form-data; boundary=x",
                "",
              ),
            },
            { weight: 1, arbitrary: printable },
          ),
          // "as encoded": the header that truly describes the body.
          contentEncoding: fc.oneof(
            { weight: 4, arbitrary: fc.constant("as encoded") },
            {
              weight: 2,
              arbitrary: fc.constantFrom("identity", "gzip", "deflate", "br", "gzip, gzip", "compress"),
            },
            { weight: 1, arbitrary: printable },
          ),
          bodyEncoding: fc.constantFrom("none", "gzip", "deflate", "br"),
          fixture: fc.constantFrom(...ADMISSION_FIXTURES),
        }),
        async ({ contentType, contentEncoding, bodyEncoding, fixture }) => {
          const body = encoders[bodyEncoding]!(Buffer.from(loadReviewText(fixture)));
          const encoding = contentEncoding === "as encoded" ? DECLARED[bodyEncoding] : contentEncoding;
          const headers: Record<string, string> = { "content-type": contentType };
          if (encoding !== undefined) headers["content-encoding"] = encoding;
          const res = await post(body, headers);
          const answer = expectWellFormed(res);
          const truthful = (encoding ?? "identity") === (DECLARED[bodyEncoding] ?? "identity");
          if (JSON_TYPES.includes(contentType) && truthful) {
            expect(res.status, res.text).toBe(200);
            expect(answer.response.uid).toBe(loadReview(fixture).request.uid);
          }
        },
      ),
      { seed: SEED, numRuns: 50 },
    );
    expectBothPaths("400", "415");
  });

  it("any ?timeout= is answered, within the configured deadline", async () => {
    const timeout = fc.oneof(
      fc.constantFrom(
        "0s",
        "0ms",
        "1ms",
        "-1s",
        "1e400h",
        "9".repeat(40) + "h",
        "1h30m",
        "",
        "1s&timeout=2s",
      ),
      printable.map(encodeURIComponent),
    );
    await fc.assert(
      fc.asyncProperty(timeout, async (value) => {
        const res = await post(loadReviewText("pod-create-ecr.json"), {}, `/mutate?timeout=${value}`);
        const body = expectWellFormed(res);
        expect(res.status).toBe(200);
        expect(body.response.uid).toBe(ECR_REVIEW.request.uid);
        expect(decodePatch(body)).toEqual([
          { op: "add", path: "/spec/imagePullSecrets", value: [{ name: SECRET }] },
        ]);
      }),
      { seed: SEED, numRuns: 30 },
    );
  });
});

describe("after all of it", () => {
  it("served every request, and logged no unexpected error", () => {
    expect(requestsSent).toBeGreaterThanOrEqual(300);
    const errors = logs.parsed().filter((line) => line.level === "error" || line.level === "fatal");
    expect(errors).toEqual([]);
    expect(({} as any).polluted).toBeUndefined();
  });
});

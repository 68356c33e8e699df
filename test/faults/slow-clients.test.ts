/**
 * Oversized bodies, slow-loris clients and many idle connections must not starve real reviews.
 *
 * The limits, as configured today (asserted below so this comment stays true):
 * - src/server/https-server.ts: the TLS handshake must finish within HANDSHAKE_TIMEOUT_MS (10 s),
 *   request headers within HEADERS_TIMEOUT_MS (10 s) and the whole request within REQUEST_TIMEOUT_MS
 *   (15 s), checked every TIMEOUT_CHECK_INTERVAL_MS (1 s); a slow client gets a 408 and its socket is
 *   closed. An idle kept-alive connection is closed after KEEP_ALIVE_TIMEOUT_MS (120 s), and any
 *   socket silent for IDLE_SOCKET_TIMEOUT_MS (130 s) — including one that finished the handshake and
 *   never sent a byte. There is no connection limit: idle sockets cost memory, not review latency.
 * - src/server/app.ts: MAX_BODY_BYTES (3 MiB), counted after decompression. Past the limit, the
 *   body is read and discarded, not kept, and the 413 is sent once the client has finished sending
 *   (body-parser drains the request so that the client can read the answer): a client declaring
 *   100 MiB holds its socket until it has sent them or the request timeout above cuts it off.
 * The tests assert non-starvation while the slow sockets are still open, and that the slow ones are
 * closed near the stated limits.
 */
import { randomBytes } from "node:crypto";
import { Agent, request } from "node:https";
import { connect, type TLSSocket } from "node:tls";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/server/app.js";
import {
  HANDSHAKE_TIMEOUT_MS,
  HEADERS_TIMEOUT_MS,
  IDLE_SOCKET_TIMEOUT_MS,
  TIMEOUT_CHECK_INTERVAL_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
} from "../../src/server/https-server.js";
import { REFERENCE_PATCH, patchOf } from "../support/fault-stack.js";
import { loadReviewText } from "../support/fixtures.js";
import { httpsRequest } from "../support/https-client.js";
import { startTestWebhook, type TestWebhook } from "../support/webhook.js";

let webhook: TestWebhook | undefined;
const sockets: TLSSocket[] = [];
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  timers.splice(0).forEach(clearInterval);
  sockets.splice(0).forEach((s) => s.destroy());
  await webhook?.close();
  webhook = undefined;
});

interface SlowClient {
  socket: TLSSocket;
  closedByServer: () => boolean;
  /** The first bytes the server sent, if any (e.g. a 408 or 413 status line). */
  received: () => string;
  /** ms from connect to the server closing it */
  closedAfter: () => number | undefined;
}

/** A raw TLS client that sends `first` once connected and then `every` each `intervalMs`. */
function slowClient(
  port: number,
  ca: string,
  first: string | Buffer,
  every?: { data: string | Buffer; intervalMs: number },
) {
  const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" });
  sockets.push(socket);
  const opened = Date.now();
  let closedAfter: number | undefined;
  let received = "";
  const ready = new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => {
      if (first.length > 0) socket.write(first);
      if (every) {
        const timer = setInterval(() => socket.writable && socket.write(every.data), every.intervalMs);
        timers.push(timer);
        socket.once("close", () => clearInterval(timer));
      }
      resolve();
    });
    socket.once("error", reject);
  });
  socket.on("error", () => {});
  socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
  // The test itself only destroys them in afterEach, after every assertion.
  socket.on("close", () => (closedAfter = Date.now() - opened));
  const client: SlowClient = {
    socket,
    closedByServer: () => closedAfter !== undefined,
    received: () => received,
    closedAfter: () => closedAfter,
  };
  return ready.then(() => client);
}

const PARTIAL_HEADERS =
  "POST /mutate?timeout=5s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
const headersFor = (length: number) =>
  `POST /mutate?timeout=5s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

async function normalReviews(w: TestWebhook, count: number) {
  const body = loadReviewText("pod-create-ecr.json");
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    const results = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        httpsRequest({ port: w.port, ca: w.ca, body, agent: i % 2 === 0 ? agent : false }),
      ),
    );
    return results;
  } finally {
    agent.destroy();
  }
}

describe("slow and idle clients", () => {
  it("states the limits this suite was written against", () => {
    expect({
      HANDSHAKE_TIMEOUT_MS,
      TIMEOUT_CHECK_INTERVAL_MS,
      IDLE_SOCKET_TIMEOUT_MS,
      HEADERS_TIMEOUT_MS,
      REQUEST_TIMEOUT_MS,
      KEEP_ALIVE_TIMEOUT_MS,
      MAX_BODY_BYTES,
    }).toEqual({
      HANDSHAKE_TIMEOUT_MS: 10_000,
      TIMEOUT_CHECK_INTERVAL_MS: 1_000,
      IDLE_SOCKET_TIMEOUT_MS: 130_000,
      HEADERS_TIMEOUT_MS: 10_000,
      REQUEST_TIMEOUT_MS: 15_000,
      KEEP_ALIVE_TIMEOUT_MS: 120_000,
      MAX_BODY_BYTES: 3 * 1024 * 1024,
    });
  });

  it("trickled headers, trickled bodies, slow large uploads and idle connections do not starve reviews", async () => {
    webhook = await startTestWebhook();
    const w = webhook;
    const slow = await Promise.all([
      // slow-loris: one header line every 250 ms, never finishing the headers
      ...Array.from({ length: 40 }, (_, i) =>
        slowClient(w.port, w.ca, PARTIAL_HEADERS, { data: `X-Slow-${i}: a\r\n`, intervalMs: 250 }),
      ),
      // complete headers, then the body one byte every 250 ms
      ...Array.from({ length: 20 }, () =>
        slowClient(w.port, w.ca, headersFor(10_000), { data: " ", intervalMs: 250 }),
      ),
      // a body just under the limit, uploaded 64 KiB at a time
      ...Array.from({ length: 4 }, () =>
        slowClient(w.port, w.ca, headersFor(MAX_BODY_BYTES - 1), {
          data: Buffer.alloc(64 * 1024, 32),
          intervalMs: 200,
        }),
      ),
      // connected (TLS done) and silent
      ...Array.from({ length: 100 }, () => slowClient(w.port, w.ca, "")),
    ]);
    expect(slow).toHaveLength(164);
    await new Promise((resolve) => setTimeout(resolve, 500)); // let them all get going

    const results = await normalReviews(w, 30);
    expect(results).toHaveLength(30);
    for (const res of results) {
      expect(res.status).toBe(200);
      expect(patchOf(res.json())).toEqual(REFERENCE_PATCH);
    }
    const health = await httpsRequest({ port: w.port, ca: w.ca, method: "GET", path: "/healthz" });
    expect(health.text).toBe("ok");
    // They were all still holding their sockets while the reviews went through.
    expect(slow.filter((c) => c.closedByServer())).toEqual([]);
  });

  it("the server closes slow-loris and trickling clients near the stated limits", async () => {
    webhook = await startTestWebhook();
    const w = webhook;
    const loris = await slowClient(w.port, w.ca, PARTIAL_HEADERS, { data: "X-Slow: a\r\n", intervalMs: 500 });
    const trickle = await slowClient(w.port, w.ca, headersFor(10_000), { data: " ", intervalMs: 500 });
    const margin = 3_000;
    await expect.poll(() => loris.closedByServer(), { timeout: HEADERS_TIMEOUT_MS + margin }).toBe(true);
    await expect
      .poll(() => trickle.closedByServer(), { timeout: REQUEST_TIMEOUT_MS + margin - HEADERS_TIMEOUT_MS })
      .toBe(true);
    expect(loris.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(trickle.received()).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);
});

describe("oversized bodies", () => {
  /** A chunked upload (no declared length) of `total` bytes; resolves with the status. */
  function chunkedUpload(w: TestWebhook, total: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          servername: "localhost",
          port: w.port,
          path: "/mutate?timeout=5s",
          method: "POST",
          ca: w.ca,
          agent: false,
          headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      const chunk = Buffer.alloc(64 * 1024, 32);
      let sent = 0;
      const pump = () => {
        while (sent < total && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
  }

  it("declared and chunked bodies over the limit are answered 413 while reviews beside them are answered", async () => {
    webhook = await startTestWebhook();
    const w = webhook;
    const big = Buffer.alloc(12 * 1024 * 1024, 32);
    const [declared, chunked, normal] = await Promise.all([
      Promise.all([1, 2, 3].map(() => httpsRequest({ port: w.port, ca: w.ca, body: big }))),
      Promise.all([1, 2].map(() => chunkedUpload(w, 8 * 1024 * 1024))),
      normalReviews(w, 10),
    ]);
    expect(declared).toHaveLength(3);
    for (const res of declared) {
      expect(res.status).toBe(413);
      expect(res.json().error).toBe(`body larger than ${MAX_BODY_BYTES} bytes`);
    }
    expect(chunked).toEqual([413, 413]);
    expect(normal.map((r) => r.status)).toEqual(Array(10).fill(200));
  });

  it("a compressed body that inflates past the limit is answered 413", async () => {
    webhook = await startTestWebhook();
    const w = webhook;
    // 64 MiB of JSON whitespace around a review, ~64 KiB on the wire.
    const bomb = gzipSync(Buffer.concat([Buffer.alloc(64 * 1024 * 1024, 32), Buffer.from("{}")]));
    expect(bomb.length).toBeLessThan(MAX_BODY_BYTES);
    const res = await httpsRequest({
      port: w.port,
      ca: w.ca,
      body: bomb,
      headers: { "content-encoding": "gzip" },
    });
    expect(res.status).toBe(413);
    expect(res.json().error).toMatch(/larger than/);
    // Random bytes claiming to be gzip: a 4xx, not a crash.
    const junk = await httpsRequest({
      port: w.port,
      ca: w.ca,
      body: randomBytes(4096),
      headers: { "content-encoding": "gzip" },
    });
    expect(junk.status).toBeGreaterThanOrEqual(400);
    expect(junk.status).toBeLessThan(500);
    expect((await normalReviews(w, 4)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });
});

import { once } from "node:events";
import { connect as tlsConnect } from "node:tls";
import { describe, expect, it } from "vitest";
import type { EnsureResult } from "../../src/secrets/credential-ensurer.js";
import { httpsRequest } from "../support/https-client.js";
import { loadReviewText } from "../support/fixtures.js";
import { startTestWebhook } from "../support/webhook.js";

describe("graceful shutdown", () => {
  it("answers every in-flight review, then refuses new connections", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const webhook = await startTestWebhook({
      // Each review blocks in its ensure until the test opens the gate.
      ensurer: { ensure: async (): Promise<EnsureResult> => (started++, await gate, { ok: true }) },
      argv: ["--admission-deadline", "10s"],
    });
    const inFlight = Array.from({ length: 5 }, () =>
      httpsRequest({
        port: webhook.port,
        ca: webhook.ca,
        body: loadReviewText("pod-create-ecr.json"),
        path: "/mutate",
      }),
    );
    await expect.poll(() => started).toBe(5);
    const closing = webhook.close();
    setTimeout(release, 100);
    const responses = await Promise.all(inFlight);
    await closing;
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(responses.every((r) => r.json().response.patchType === "JSONPatch")).toBe(true);
    await expect(httpsRequest({ port: webhook.port, ca: webhook.ca, body: "{}" })).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });
});

/** One TLS connection, used by hand: requests written on it in turn, responses read whole. */
async function rawConnection(port: number, ca: string) {
  const socket = tlsConnect({ host: "127.0.0.1", port, ca, servername: "localhost" });
  await once(socket, "secureConnect");
  let buffered = "";
  let ended = false;
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (buffered += chunk));
  socket.on("end", () => (ended = true));
  return {
    socket,
    ended: () => ended,
    async request(body: string): Promise<{ status: number; headers: string; body: string }> {
      buffered = "";
      socket.write(
        `POST /mutate?timeout=5s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      // Whole when the body has the length its header announced.
      await expect
        .poll(() => {
          const split = buffered.indexOf("\r\n\r\n");
          const length = Number(/content-length: (\d+)/i.exec(buffered)?.[1] ?? -1);
          return split >= 0 && length >= 0 && Buffer.byteLength(buffered.slice(split + 4)) >= length;
        })
        .toBe(true);
      const split = buffered.indexOf("\r\n\r\n");
      return {
        status: Number(buffered.slice(9, 12)),
        headers: buffered.slice(0, split).toLowerCase(),
        body: buffered.slice(split + 4),
      };
    },
  };
}

describe("shutdown of a replica a balancer still sends to", () => {
  it("drains: not ready at once, every answer closes its connection, no idle connection is cut", async () => {
    const webhook = await startTestWebhook();
    const review = loadReviewText("pod-create-ecr.json");
    // A connection the API server opened and keeps alive, idle when the shutdown begins.
    const kept = await rawConnection(webhook.port, webhook.ca);
    const before = await kept.request(review);
    expect(before.status).toBe(200);
    expect(before.headers).not.toContain("connection: close");

    const closing = webhook.close({ drainMs: 1_500 });
    const readyz = await httpsRequest({ port: webhook.port, ca: webhook.ca, method: "GET", path: "/readyz" });
    expect(readyz.status).toBe(503);
    expect(readyz.headers.connection).toBe("close");
    // The idle connection was not cut: a review sent on it now is answered, and told to close.
    await new Promise((r) => setTimeout(r, 300));
    expect(kept.ended()).toBe(false);
    const during = await kept.request(review);
    expect(during.status).toBe(200);
    expect(during.headers).toContain("connection: close");
    expect(JSON.parse(during.body).response.allowed).toBe(true);
    await expect.poll(() => kept.ended()).toBe(true);
    // New connections during the drain are still answered (endpoints may not have let go yet).
    const late = await httpsRequest({ port: webhook.port, ca: webhook.ca, body: review });
    expect(late.status).toBe(200);
    expect(late.headers.connection).toBe("close");

    await closing;
    await expect(httpsRequest({ port: webhook.port, ca: webhook.ca, body: "{}" })).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });
});

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

/** docs/performance.md: the limits the server enforces and the way the benchmark runs the bundle. */
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/server/app.js";
import {
  HANDSHAKE_TIMEOUT_MS,
  HEADERS_TIMEOUT_MS,
  IDLE_SOCKET_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
} from "../../src/server/https-server.js";
import { imageNodeFlags } from "../support/shipped-cli.js";
import { readPage, section } from "./markdown.js";

const performance = readPage("docs/performance.md");

describe("docs/performance.md stays true to the code", () => {
  it("states the limits the server enforces, as configured", () => {
    const limits = section(performance, "Limits that protect the webhook");
    expect(limits).toContain(`| ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
    for (const ms of [
      HANDSHAKE_TIMEOUT_MS,
      HEADERS_TIMEOUT_MS,
      KEEP_ALIVE_TIMEOUT_MS,
      IDLE_SOCKET_TIMEOUT_MS,
    ]) {
      expect(limits).toContain(`${ms / 1000} s`);
    }
    expect(limits).toContain(`${HEADERS_TIMEOUT_MS / 1000} s / ${REQUEST_TIMEOUT_MS / 1000} s`);
  });

  it("names the benchmark command and the Node flags the image runs with", () => {
    const benchmark = section(performance, "The benchmark");
    expect(benchmark).toContain("`npm run bench`");
    expect(benchmark).toContain(`node ${imageNodeFlags().join(" ")} dist/ecr-webhook.mjs`);
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/commands/help.js";
import { runExplain } from "../../src/commands/explain.js";
import { envName, FLAGS } from "../../src/config/flags.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { MAX_BODY_BYTES } from "../../src/server/app.js";
import {
  HANDSHAKE_TIMEOUT_MS,
  HEADERS_TIMEOUT_MS,
  IDLE_SOCKET_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
} from "../../src/server/https-server.js";
import { imageNodeFlags } from "../support/shipped-cli.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("README stays true to the code", () => {
  it.each(FLAGS.map((f) => f.name))("documents --%s and its environment twin", (name) => {
    expect(readme).toContain(`\`--${name}\``);
    expect(readme).toContain(`\`${envName(name)}\``);
  });

  it("documents every metric", async () => {
    const names = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(readme).toContain(`\`${name}\``);
  });

  it.each(Object.keys(COMMANDS))("documents the %s command", (command) => {
    expect(readme).toMatch(new RegExp(`\\| \`${command}[ \`]`));
  });

  it("states the limits the server enforces, as configured", () => {
    const section = readme.slice(readme.indexOf("### Limits that protect the webhook"));
    expect(section).toContain(`| ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
    for (const ms of [
      HANDSHAKE_TIMEOUT_MS,
      HEADERS_TIMEOUT_MS,
      KEEP_ALIVE_TIMEOUT_MS,
      IDLE_SOCKET_TIMEOUT_MS,
    ]) {
      expect(section).toContain(`${ms / 1000} s`);
    }
    expect(section).toContain(`${HEADERS_TIMEOUT_MS / 1000} s / ${REQUEST_TIMEOUT_MS / 1000} s`);
  });

  it("names the benchmark command and the Node flags the image runs with", () => {
    const section = readme.slice(readme.indexOf("## Performance"), readme.indexOf("## Development"));
    expect(section).toContain("`npm run bench`");
    expect(section).toContain(`node ${imageNodeFlags().join(" ")} dist/ecr-webhook.mjs`);
  });

  it("shows the real output of the quick-start explain", async () => {
    let output = "";
    await runExplain(["-f", "examples/pod.yaml"], (text) => (output += text));
    expect(readme).toContain(output);
  });

  it("gives .ci/run's test command as a quick-start command", () => {
    const ci = readFileSync(new URL("../../.ci/run", import.meta.url), "utf8");
    // Run on the image's Node, then again with the clock shifted and on the oldest supported Node.
    expect(ci).toMatch(/^with_node "\$image_bin" npm test$/m);
    expect(ci).toMatch(/^with_node "\$image_bin" faketime -f '\+\d+d' npm test$/m);
    expect(ci).toMatch(/^with_node "\$oldest_bin" npm test$/m);
    expect(readme).toContain("npm ci && npm test");
  });
});

/** README.md, the front door: its two commands are the ones that work, and CI runs the second. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runExplain } from "../../src/commands/explain.js";
import { readPage } from "./markdown.js";

const readme = readPage("README.md");

describe("README stays true to the code", () => {
  it("shows the real output of the quick-start explain", async () => {
    let output = "";
    await runExplain(["-f", "examples/pod.yaml"], (text) => (output += text));
    expect(readme).toContain("npm ci && npm run build && node dist/cli.js explain -f examples/pod.yaml");
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

/** docs/reference.md against the code it describes: the commands, the flags and the metrics. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/commands/help.js";
import { envName, FLAGS } from "../../src/config/flags.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { codeSpans, firstCode, readPage, ROOT, section, tableRows } from "./markdown.js";

const reference = readPage("docs/reference.md");

/** The reasons of the Events the webhook writes, as the source spells them (`reason: "…"`). */
function eventReasons(): string[] {
  const files = readdirSync(join(ROOT, "src"), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => join(entry.parentPath, entry.name));
  const reasons = files.flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(/\breason: "([A-Z][A-Za-z]+)"/g)].map((match) => match[1]!),
  );
  return [...new Set(reasons)].sort();
}

describe("docs/reference.md stays true to the code", () => {
  it.each(FLAGS.map((f) => f.name))("documents --%s and its environment twin", (name) => {
    expect(reference).toContain(`\`--${name}\``);
    expect(reference).toContain(`\`${envName(name)}\``);
  });

  it("has one row per flag in the flag table, as FLAGS declares it, in the same order", () => {
    const rows = tableRows(section(reference, "Flags"));
    const expected = FLAGS.map((flag) => [
      `\`--${flag.name}\``,
      `\`${envName(flag.name)}\``,
      flag.default === undefined ? "" : `\`${flag.default}\``,
      flag.commands.join(", "),
      flag.help,
    ]);
    expect(rows).toEqual(expected);
  });

  it("documents every metric", async () => {
    const names = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(reference).toContain(`\`${name}\``);
  });

  it("lists exactly the metrics the webhook registers, with their labels and types", () => {
    const registered = createMetrics()
      .registry.getMetricsAsArray()
      .map((metric) => ({
        name: metric.name,
        // prom-client keeps the declared label names on the metric; its types leave them out.
        labels: [...((metric as unknown as { labelNames?: readonly string[] }).labelNames ?? [])],
        histogram: String(metric.type) === "histogram",
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const documented = tableRows(section(reference, "Metrics"))
      .map(([metric = "", labels = "", meaning = ""]) => ({
        name: firstCode(metric),
        // The label names; what follows a name in parentheses are its values.
        labels: codeSpans(labels.replace(/\([^)]*\)/g, "")),
        histogram: meaning.includes("(histogram)"),
      }))
      .sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
    expect(registered.length).toBeGreaterThan(10);
    expect(documented).toEqual(registered);
  });

  it.each(Object.keys(COMMANDS))("documents the %s command", (command) => {
    expect(reference).toMatch(new RegExp(`\\| \`${command}[ \`]`));
  });

  it("lists exactly the Event reasons the webhook writes", () => {
    const written = eventReasons();
    expect(written.length).toBeGreaterThan(4);
    const documented = codeSpans(section(reference, "Events")).filter((span) =>
      /^[A-Z][A-Za-z]+$/.test(span),
    );
    expect([...new Set(documented)].sort()).toEqual(written);
  });
});

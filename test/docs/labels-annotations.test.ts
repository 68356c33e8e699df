/**
 * The table of labels and annotations in docs/how-a-review-is-handled.md against the keys the code
 * declares (src/policy/keys.ts, src/secrets/pull-secret.ts) and the keys the shipped manifests use.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FLAGS } from "../../src/config/flags.js";
import * as policyKeys from "../../src/policy/keys.js";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../../src/policy/keys.js";
import * as pullSecret from "../../src/secrets/pull-secret.js";
import { firstCode, readPage, ROOT, section, tableRows } from "./markdown.js";

interface Row {
  where: string;
  /** The key column's first code span as written, e.g. `ecr-webhook.io/inject=enabled`. */
  written: string;
  /** The key alone, without `=value` or `: "value"`. */
  key: string;
}

const rows: Row[] = tableRows(
  section(readPage("docs/how-a-review-is-handled.md"), "Labels and annotations"),
).map(([where = "", keyCell = ""]) => {
  const written = firstCode(keyCell) ?? "";
  return { where, written, key: /^[^=:\s]+/.exec(written)?.[0] ?? "" };
});

/** Every exported LABEL_* and ANNOTATION_* constant: its name and the key it holds. */
const declared = Object.entries({ ...policyKeys, ...pullSecret })
  .filter(([name]) => /^(LABEL|ANNOTATION)_/.test(name))
  .map(([name, key]) => ({
    name,
    key: key as string,
    kind: name.startsWith("LABEL_") ? "label" : "annotation",
  }));

const namespaceLabel = FLAGS.find((flag) => flag.name === "namespace-label")!.default!;

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The `ecr-webhook.io/<key>` keys written anywhere in the source and the shipped manifests. */
function keysUsedIn(dirs: string[]): Set<string> {
  const found = new Set<string>();
  for (const file of dirs.flatMap(filesUnder)) {
    for (const match of readFileSync(file, "utf8").matchAll(
      /ecr-webhook\.io\/[a-z0-9][a-z0-9.-]*[a-z0-9]/g,
    )) {
      found.add(match[0]);
    }
  }
  return found;
}

describe("the labels and annotations table stays true to the code", () => {
  it("reads a table of keys", () => {
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) expect(row.key, row.where).toMatch(/^[a-z0-9.-]+\/[a-z0-9.-]+$/);
  });

  it.each(declared)("documents $name ($key) among the $kind rows", ({ key, kind }) => {
    expect(rows.filter((row) => row.key === key).map((row) => row.where)).toContainEqual(
      expect.stringMatching(new RegExp(`\\b${kind}\\b`, "i")),
    );
  });

  it("gives the opt-in label as --namespace-label's default, and the managed-by label with its value", () => {
    expect(rows).toContainEqual(
      expect.objectContaining({ where: "Namespace label", written: namespaceLabel }),
    );
    expect(rows).toContainEqual(
      expect.objectContaining({
        where: "Secret label (written)",
        written: `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
      }),
    );
  });

  it("documents only keys the code declares or the shipped manifests use", () => {
    const known = new Set([
      ...declared.map((d) => d.key),
      namespaceLabel.split("=")[0]!,
      ...keysUsedIn(["webhook-config"]),
    ]);
    expect(rows.map((row) => row.key).filter((key) => !known.has(key))).toEqual([]);
  });

  it("documents every ecr-webhook.io key the source or the manifests write", () => {
    const documented = new Set(rows.map((row) => row.key));
    const used = [...keysUsedIn(["src", "webhook-config", "certs-job"])];
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((key) => !documented.has(key)).sort()).toEqual([]);
  });
});

/**
 * The Grafana dashboard of webhook-config/components/monitoring: every query names only metrics the
 * webhook exports, and (with promtool installed) every query is valid PromQL.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { objectsInFile, one } from "../manifests/load.js";
import { exportedSeries, findPromtool, metricNames } from "./support.js";

const FILE = "webhook-config/components/monitoring/grafana-dashboard.yaml";

const configMap = () => one(objectsInFile(FILE), "ConfigMap");
const dashboard = (): any => JSON.parse(configMap().data["ecr-webhook.json"]);
const panels = (): any[] => dashboard().panels.filter((panel: any) => panel.type !== "row");
const queries = (): { panel: string; expr: string }[] =>
  panels().flatMap((panel) =>
    panel.targets.map((target: any) => ({ panel: panel.title, expr: target.expr })),
  );

describe("Grafana dashboard", () => {
  it("is one JSON document in a ConfigMap Grafana's sidecar picks up, in the webhook's namespace", () => {
    expect(Object.keys(configMap().data)).toEqual(["ecr-webhook.json"]);
    expect(configMap().metadata.labels.grafana_dashboard).toBe("1");
    expect(configMap().metadata.namespace).toBe("ecr-webhook");
    expect(dashboard().uid).toBe("ecr-webhook");
  });

  it("every panel queries the Prometheus chosen in the datasource variable", () => {
    const variables = dashboard().templating.list.map((v: any) => `${v.type}:${v.name}`);
    expect(variables).toContain("datasource:datasource");
    for (const panel of panels()) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: "${datasource}" });
    }
  });

  it("panel ids are unique", () => {
    const ids = dashboard().panels.map((panel: any) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("every query names metrics, and only ones the webhook exports", async () => {
    const exported = await exportedSeries();
    expect(queries().length).toBeGreaterThanOrEqual(10);
    for (const { panel, expr } of queries()) {
      const names = metricNames(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      expect(
        names.filter((name) => !exported.has(name)),
        `${panel}: ${expr}`,
      ).toEqual([]);
    }
  });

  it("shows every metric of the webhook's own", async () => {
    const own = [...(await exportedSeries())].filter(
      (name) => name.startsWith("ecr_webhook_") && !/_(sum|count)$/.test(name),
    );
    const shown = new Set(queries().flatMap(({ expr }) => metricNames(expr)));
    expect(own.filter((name) => !shown.has(name))).toEqual([]);
  });
});

const promtool = findPromtool();
if (!promtool) console.log("promtool not found: dashboard query syntax check skipped");

describe.skipIf(!promtool)("Grafana dashboard queries (promtool, when installed)", () => {
  it("every query is valid PromQL", () => {
    // promtool checks expressions of recording rules: one rule per query.
    const rules = queries().map(({ expr }, i) => ({ record: `dashboard:query_${i}`, expr }));
    const dir = mkdtempSync(join(tmpdir(), "ecr-webhook-dashboard-"));
    try {
      const file = join(dir, "dashboard.rules.yaml");
      writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }, { lineWidth: 0 }));
      const out = spawnSync(promtool!, ["check", "rules", file], { encoding: "utf8" });
      expect(out.status, `${out.stdout}${out.stderr}`).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

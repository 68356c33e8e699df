/**
 * The alert rules of webhook-config/components/monitoring. With promtool installed, the PrometheusRule's
 * groups are extracted into a plain rule file and run through `promtool check rules` and the unit tests
 * of alerts.test.yaml. Always, without promtool: every metric, label value and log line the rules name
 * is one the code produces, every alert is documented and tested both ways, and the thresholds follow
 * the code's defaults.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseDocument, stringify } from "yaml";
import { parseDuration } from "../../src/config/duration.js";
import { FLAGS } from "../../src/config/flags.js";
import { replaceAt, TOKEN_LIFETIME_MS } from "../../src/ecr/token-freshness.js";
import { failureLabel } from "../../src/kube/api-errors.js";
import type { EnsureFailure } from "../../src/secrets/credential-ensurer.js";
import type { RefreshOutcome } from "../../src/secrets/secret-ensurer.js";
import { objectsInFile, one, readText, ROOT } from "../manifests/load.js";
import { exportedSeries, findPromtool, metricNames } from "./support.js";

const RULE_FILE = "webhook-config/components/monitoring/prometheusrule.yaml";
const TEST_FILE = "test/monitoring/alerts.test.yaml";

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const groups = (): { name: string; rules: AlertRule[] }[] =>
  one(objectsInFile(RULE_FILE), "PrometheusRule").spec.groups;
const alerts = (): AlertRule[] => groups().flatMap((group) => group.rules);
const alert = (name: string): AlertRule => {
  const hits = alerts().filter((rule) => rule.alert === name);
  expect(hits, name).toHaveLength(1);
  return hits[0]!;
};

interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts: unknown[];
}
const promtoolTests = (): { name: string; alert_rule_test: AlertRuleTest[] }[] =>
  parse(readText(TEST_FILE)).tests;
const ruleTests = (): AlertRuleTest[] => promtoolTests().flatMap((test) => test.alert_rule_test);

// ─── promtool ────────────────────────────────────────────────────────────────────────────────────

const promtool = findPromtool();
if (!promtool)
  console.log("promtool not found: alert rule tests skipped (apt-get install prometheus provides it)");

describe.skipIf(!promtool)("promtool (when installed)", () => {
  let dir = "";
  const rulesPath = (): string => join(dir, "ecr-webhook.rules.yaml");
  const testsPath = (): string => join(dir, "alerts.test.yaml");

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ecr-webhook-alerts-"));
    // The plain rule file Prometheus itself would load; the PrometheusRule stays the only copy.
    writeFileSync(rulesPath(), stringify({ groups: groups() }, { lineWidth: 0 }));
    const tests = parseDocument(readText(TEST_FILE));
    tests.set("rule_files", [rulesPath()]);
    writeFileSync(testsPath(), tests.toString({ lineWidth: 0 }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => {
    const out = spawnSync(promtool!, args, { cwd: dir, encoding: "utf8" });
    return { status: out.status, output: `${out.stdout}${out.stderr}` };
  };

  it("promtool check rules accepts the rules extracted from the PrometheusRule", () => {
    const { status, output } = run("check", "rules", rulesPath());
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${alerts().length} rules found`);
  });

  it(`promtool test rules passes all ${ruleTests().length} alert cases of ${TEST_FILE}`, () => {
    const { status, output } = run("test", "rules", testsPath());
    expect(status, output).toBe(0);
  });
});

// ─── the test file covers every alert ────────────────────────────────────────────────────────────

describe(TEST_FILE, () => {
  it("names one rule file, which the test replaces by the extracted one", () => {
    expect(parse(readText(TEST_FILE)).rule_files).toHaveLength(1);
  });

  it("tests only alerts the PrometheusRule defines (promtool passes `exp_alerts: []` of a typo)", () => {
    const defined = new Set(alerts().map((rule) => rule.alert));
    expect(ruleTests().filter((test) => !defined.has(test.alertname))).toEqual([]);
  });

  it.each(alerts().map((rule) => rule.alert))("has a firing case and a quiet case for %s", (name) => {
    const cases = ruleTests().filter((test) => test.alertname === name);
    expect(
      cases.some((test) => test.exp_alerts.length > 0),
      "a case where it fires",
    ).toBe(true);
    expect(
      cases.some((test) => test.exp_alerts.length === 0),
      "a case where it stays quiet",
    ).toBe(true);
  });
});

// ─── the rules name only what the code exports ───────────────────────────────────────────────────

function sourceFiles(dir = "src"): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}
const allSource = (): string => sourceFiles().map(readText).join("\n");

describe("the alerts against the code", () => {
  it("every metric an expression or annotation names is one the code exports (src/metrics/metrics.ts)", async () => {
    const exported = await exportedSeries();
    const used = alerts().flatMap((rule) =>
      metricNames([rule.expr, ...Object.values(rule.annotations ?? {})].join(" ")),
    );
    expect(used.length).toBeGreaterThanOrEqual(alerts().length);
    expect([...new Set(used)].filter((name) => !exported.has(name))).toEqual([]);
  });

  it.each(alerts().map((rule) => rule.alert))("%s has a severity, a summary and a description", (name) => {
    const rule = alert(name);
    expect(["critical", "warning"]).toContain(rule.labels?.severity);
    expect(rule.annotations?.summary?.length ?? 0).toBeGreaterThan(10);
    expect(rule.annotations?.description?.length ?? 0).toBeGreaterThan(100);
    // Each says what to run.
    expect(rule.annotations?.description).toMatch(/`(ecr-webhook|kubectl) [^`]+`/);
  });

  it("every log line a description quotes is one the code writes", () => {
    const source = allSource();
    const quoted = alerts().flatMap((rule) =>
      [...(rule.annotations?.description ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]!),
    );
    expect(quoted.length).toBeGreaterThanOrEqual(10);
    expect(quoted.filter((line) => !source.includes(line))).toEqual([]);
  });
});

// ─── label values ────────────────────────────────────────────────────────────────────────────────

interface Matcher {
  metric: string;
  label: string;
  op: string;
  values: string[];
}

/** The label matchers of an expression; a regex matcher must be a plain alternation of values. */
function matchers(expr: string): Matcher[] {
  return [...expr.matchAll(/(ecr_webhook_[a-z_]+)\{([^}]*)\}/g)].flatMap(([, metric, body]) =>
    [...body!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map(([, label, op, value]) => {
      if (op!.includes("~") && !/^[\w|]+$/.test(value!)) throw new Error(`${metric}: cannot read ${value}`);
      return { metric: metric!, label: label!, op: op!, values: value!.split("|") };
    }),
  );
}

/** The value of `label` in every `.<metric>.inc({ … label: "value" … })` call of src/. */
function literalValues(source: string, property: string, label: string): Set<string> {
  const calls = source.matchAll(new RegExp(`\\.${property}\\.inc\\(\\{([^}]*)\\}`, "g"));
  return new Set(
    [...calls].flatMap(([, args]) =>
      [...args!.matchAll(new RegExp(`${label}: "([a-z_]+)"`, "g"))].map((m) => m[1]!),
    ),
  );
}

/** The string literals resultLabel() of src/ecr/token-calls.ts returns. */
function tokenFetchResults(): Set<string> {
  const source = readText("src/ecr/token-calls.ts");
  const values = literalValues(source, "tokenFetches", "result");
  const args = [...source.matchAll(/tokenFetches\.inc\(\{ result: ([^}]+) \}\)/g)].map((m) => m[1]!.trim());
  expect(args.length).toBeGreaterThanOrEqual(2);
  for (const arg of args) {
    if (/^"[a-z_]+"$/.test(arg)) continue;
    // Any other source of values would escape this test: it has to learn it first.
    expect(arg).toMatch(/^resultLabel\(/);
    const body = /function resultLabel\([^)]*\)[^{]*\{([\s\S]*?)\n\}/.exec(source)?.[1] ?? "";
    for (const m of body.matchAll(/[?:]\s*"([a-z_]+)"/g)) values.add(m[1]!);
  }
  return values;
}

// Checked by the compiler: these lists are exactly the code's types (a value added to either fails).
const ENSURE_FAILURES = ["unmanaged_secret", "namespace_terminating", "error"] as const;
const ROTATION_RESULTS = ["refreshed", "fresh", "absent", "failed"] as const;
type Same<A, B> = [Exclude<A, B>, Exclude<B, A>] extends [never, never] ? true : never;
const ensureFailuresComplete: Same<EnsureFailure, (typeof ENSURE_FAILURES)[number]> = true;
const rotationResultsComplete: Same<RefreshOutcome["status"], (typeof ROTATION_RESULTS)[number]> = true;

/** For each labelled metric the rules match on: can the code give the label this value? */
const PRODUCIBLE: Record<string, (value: string) => boolean> = {
  "ecr_webhook_token_fetches_total{result}": (v) => tokenFetchResults().has(v),
  // The handler's own "timeout", or the reason of the ensure that failed.
  "ecr_webhook_admission_fallbacks_total{reason}": (v) =>
    (v === "timeout" && readText("src/admission/handler.ts").includes(`reason: "timeout"`)) ||
    (ENSURE_FAILURES as readonly string[]).includes(v),
  "ecr_webhook_rotation_refreshes_total{result}": (v) =>
    readText("src/controller/rotation.ts").includes("rotationRefreshes.inc({ result: outcome.status })") &&
    (ROTATION_RESULTS as readonly string[]).includes(v),
  // "success", or failureLabel() of the API's answer: an HTTP code, or "network".
  "ecr_webhook_secret_writes_total{result}": (v) =>
    literalValues(allSource(), "secretWrites", "result").has(v) ||
    v === failureLabel({ code: /^\d{3}$/.test(v) ? Number(v) : undefined, message: "", causes: [] }),
  "ecr_webhook_admission_reviews_total{outcome}": (v) =>
    literalValues(allSource(), "reviews", "outcome").has(v),
};

describe("label values the rules match on", () => {
  it("the type checks above hold", () => {
    expect([ensureFailuresComplete, rotationResultsComplete]).toEqual([true, true]);
  });

  it("the code produces throttled and error for token fetches, timeout among the fallback reasons", () => {
    expect([...tokenFetchResults()].sort()).toEqual(["error", "success", "throttled"]);
    expect(PRODUCIBLE["ecr_webhook_admission_fallbacks_total{reason}"]!("timeout")).toBe(true);
    expect(PRODUCIBLE["ecr_webhook_admission_fallbacks_total{reason}"]!("timed_out")).toBe(false);
    expect(PRODUCIBLE["ecr_webhook_secret_writes_total{result}"]!("409")).toBe(true);
    expect(PRODUCIBLE["ecr_webhook_secret_writes_total{result}"]!("conflict")).toBe(false);
  });

  it.each(alerts().map((rule) => rule.alert))(
    "every value %s matches on is one the code produces",
    (name) => {
      for (const { metric, label, values } of matchers(alert(name).expr)) {
        const producible = PRODUCIBLE[`${metric}{${label}}`];
        expect(producible, `${metric}{${label}}: add where its values come from to PRODUCIBLE`).toBeDefined();
        for (const value of values) expect(producible!(value), `${metric}{${label}="${value}"}`).toBe(true);
      }
    },
  );
});

// ─── thresholds ──────────────────────────────────────────────────────────────────────────────────

function flagMs(name: string): number {
  const ms = parseDuration(FLAGS.find((flag) => flag.name === name)?.default ?? "");
  if (ms === undefined) throw new Error(`--${name} has no duration default`);
  return ms;
}

/** The `> N * 3600` or `> N` at the end of an expression, in milliseconds. */
function thresholdMs(name: string): number {
  const match = /> (\d+)( \* 3600)?$/.exec(alert(name).expr);
  expect(match, alert(name).expr).not.toBeNull();
  return Number(match![1]) * (match![2] ? 3_600_000 : 1000);
}

describe("thresholds follow the code's defaults", () => {
  const HOUR = 3_600_000;
  // A token obtained at 0 that lives ECR's 12 hours: when the default --min-token-ttl replaces it.
  const replacedAtAge = (): number =>
    replaceAt({ issuedAt: new Date(0), expiresAt: new Date(TOKEN_LIFETIME_MS) }, flagMs("min-token-ttl"));

  it("EcrWebhookTokenOverdue: an hour past the age at which rotation replaces a token", () => {
    expect(replacedAtAge()).toBe(6 * HOUR);
    expect(thresholdMs("EcrWebhookTokenOverdue")).toBe(replacedAtAge() + HOUR);
  });

  it("EcrWebhookTokenNearExpiry: an hour before ECR's token lifetime ends", () => {
    expect(thresholdMs("EcrWebhookTokenNearExpiry")).toBe(TOKEN_LIFETIME_MS - HOUR);
  });

  it("EcrWebhookRotationStale: an hour, several --rotation-interval cycles", () => {
    expect(thresholdMs("EcrWebhookRotationStale")).toBe(HOUR);
    expect(HOUR / flagMs("rotation-interval")).toBeGreaterThanOrEqual(3);
  });

  it("EcrWebhookAdmissionSlow: below --admission-deadline, which a waiting review may use up", () => {
    expect(thresholdMs("EcrWebhookAdmissionSlow")).toBeLessThan(flagMs("admission-deadline"));
  });

  it("every counter's rate window is shorter than its `for`, so one failure never fires", () => {
    const counters = alerts().filter((rule) => /rate\(ecr_webhook_\w+_total/.test(rule.expr));
    expect(counters.length).toBeGreaterThanOrEqual(7);
    for (const rule of counters) {
      const windows = [...rule.expr.matchAll(/\[(\w+)\]\)/g)].map((m) => parseDuration(m[1]!)!);
      expect(windows.length, rule.alert).toBeGreaterThan(0);
      for (const window of windows) expect(window, rule.alert).toBeLessThan(parseDuration(rule.for ?? "0s")!);
    }
  });
});

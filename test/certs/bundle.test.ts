import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  bundleContains,
  checkTrust,
  MAX_PREVIOUS_CAS,
  mergeCaBundle,
  parseBundle,
} from "../../src/certs/bundle.js";
import { caBundlePatch, planCaBundles, webhookTrust } from "../../src/certs/webhook-config.js";
import { issueServingBundle, type ServingBundle } from "../../src/tls/issue.js";

const DAY = 86_400_000;
const NOW = new Date("2026-11-23T08:00:00Z");
const fingerprints = (pem: string) => parseBundle(pem).map((c) => c.fingerprint256);
const fp = (pem: string) => new X509Certificate(pem).fingerprint256;

let fresh: ServingBundle;
let previous: ServingBundle;
let older: ServingBundle;
let expired: ServingBundle;
let many: ServingBundle[];

beforeAll(async () => {
  const issue = (daysAgo: number, validityDays: number) =>
    issueServingBundle({ dnsNames: ["svc"], validityDays, now: new Date(NOW.getTime() - daysAgo * DAY) });
  [fresh, previous, older, expired] = await Promise.all([
    issue(0, 365),
    issue(300, 365),
    issue(600, 365),
    issue(30, 10),
  ]);
  many = await Promise.all([1, 2, 3, 4, 5, 6].map((d) => issue(d, 365)));
});

describe("mergeCaBundle", () => {
  type Case = [name: string, previous: () => (string | undefined)[], expected: () => string[]];
  const CASES: Case[] = [
    ["nothing before", () => [], () => [fresh.ca.cert]],
    ["no previous bundle at all", () => [undefined, ""], () => [fresh.ca.cert]],
    [
      "the previous CA kept after the new one",
      () => [previous.ca.cert],
      () => [fresh.ca.cert, previous.ca.cert],
    ],
    [
      "several previous CAs of one bundle, in order",
      () => [`${previous.ca.cert}\n${older.ca.cert}`],
      () => [fresh.ca.cert, previous.ca.cert, older.ca.cert],
    ],
    [
      "an expired CA dropped",
      () => [expired.ca.cert, previous.ca.cert],
      () => [fresh.ca.cert, previous.ca.cert],
    ],
    [
      "duplicates dropped, the new CA included",
      () => [previous.ca.cert, `${fresh.ca.cert}${previous.ca.cert}`, previous.ca.cert],
      () => [fresh.ca.cert, previous.ca.cert],
    ],
    ["a serving certificate is no CA", () => [previous.serving.cert], () => [fresh.ca.cert]],
    [
      "garbage ignored",
      () => ["not pem", `-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----`],
      () => [fresh.ca.cert],
    ],
    [
      `at most the first ${MAX_PREVIOUS_CAS} previous CAs (bundles list the newest first)`,
      () => many.map((b) => b.ca.cert),
      () => [fresh.ca.cert, ...many.slice(0, MAX_PREVIOUS_CAS).map((b) => b.ca.cert)],
    ],
  ];
  it.each(CASES)("%s", (_name, prev, expected) => {
    const bundle = mergeCaBundle(fresh.ca.cert, prev(), NOW);
    expect(fingerprints(bundle)).toEqual(expected().map(fp));
    expect(bundle.endsWith("-----END CERTIFICATE-----\n")).toBe(true);
  });
});

describe("bundleContains and checkTrust", () => {
  it("finds a CA by fingerprint, whatever the whitespace", () => {
    const bundle = mergeCaBundle(fresh.ca.cert, [previous.ca.cert], NOW);
    expect(bundleContains(bundle, previous.ca.cert.replace(/\n/g, "\r\n"))).toBe(true);
    expect(bundleContains(bundle, older.ca.cert)).toBe(false);
    expect(bundleContains(undefined, fresh.ca.cert)).toBe(false);
    expect(bundleContains(bundle, "garbage")).toBe(false);
  });

  type TrustCase = [name: string, cert: () => string, bundle: () => string, problem: string | undefined];
  const TRUST_CASES: TrustCase[] = [
    [
      "trusted by its CA in the bundle",
      () => fresh.serving.cert,
      () => `${older.ca.cert}${fresh.ca.cert}`,
      undefined,
    ],
    ["not trusted by another CA", () => fresh.serving.cert, () => previous.ca.cert, "untrusted"],
    ["not trusted by an empty bundle", () => fresh.serving.cert, () => "", "untrusted"],
    ["expired", () => expired.serving.cert, () => expired.ca.cert, "expired"],
  ];
  it.each(TRUST_CASES)("a serving certificate %s", (_name, cert, bundle, problem) => {
    expect(checkTrust(cert(), bundle(), NOW)).toBe(problem);
  });
});

describe("planCaBundles and caBundlePatch", () => {
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const config = () => ({
    metadata: { name: "ecr-webhook", resourceVersion: "42" },
    webhooks: [
      { name: "a", clientConfig: { caBundle: b64(previous.ca.cert) } },
      { name: "b", clientConfig: {} },
      { name: "c", clientConfig: { caBundle: b64(`${fresh.ca.cert}${previous.ca.cert}`) } },
    ],
  });

  it("decodes each webhook's caBundle", () => {
    expect(
      webhookTrust(config() as any).map((w) => [w.name, w.caBundle && fingerprints(w.caBundle).length]),
    ).toEqual([
      ["a", 1],
      ["b", undefined],
      ["c", 2],
    ]);
  });

  it("after an issue writes every webhook; the bundle keeps every still-valid CA once", () => {
    const plan = planCaBundles({
      webhooks: webhookTrust(config() as any),
      ca: many[0]!.ca.cert,
      previousCa: older.ca.cert,
      now: NOW,
      onlyMissing: false,
    });
    expect(plan.indexes).toEqual([0, 1, 2]);
    expect(fingerprints(plan.bundle)).toEqual([many[0]!, older, previous, fresh].map((b) => fp(b.ca.cert)));
  });

  it("on reuse writes only the webhooks that do not trust the CA yet", () => {
    const plan = planCaBundles({
      webhooks: webhookTrust(config() as any),
      ca: fresh.ca.cert,
      now: NOW,
      onlyMissing: true,
    });
    expect(plan.indexes).toEqual([0, 1]);
    expect(fingerprints(plan.bundle)).toEqual([fresh, previous].map((b) => fp(b.ca.cert)));
  });

  it("patches one caBundle per webhook behind a test of resourceVersion", () => {
    expect(caBundlePatch("42", { bundle: "PEM", indexes: [0, 2] })).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "42" },
      { op: "add", path: "/webhooks/0/clientConfig/caBundle", value: b64("PEM") },
      { op: "add", path: "/webhooks/2/clientConfig/caBundle", value: b64("PEM") },
    ]);
  });
});

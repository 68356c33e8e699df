import { beforeAll, describe, expect, it } from "vitest";
import {
  decideCertificate,
  type ExistingPair,
  type IssueReason,
} from "../../src/certs/certificate-decision.js";
import { serviceDnsNames } from "../../src/certs/names.js";
import { issueServingBundle, type ServingBundle } from "../../src/tls/issue.js";

const DAY = 86_400_000;
const NOW = new Date("2026-11-23T08:00:00Z");
const NAMES = serviceDnsNames("ecr-webhook", "ecr-webhook");
const RENEW_BEFORE = 30 * DAY;

const ago = (days: number) => new Date(NOW.getTime() - days * DAY);
const pairOf = (b: ServingBundle): ExistingPair => ({
  cert: b.serving.cert,
  key: b.serving.key,
  ca: b.ca.cert,
});

let good: ServingBundle;
let other: ServingBundle;
let fewerNames: ServingBundle;
let moreNames: ServingBundle;
let nearExpiry: ServingBundle;
let expired: ServingBundle;
let caNearExpiry: ServingBundle;

beforeAll(async () => {
  const issue = (dnsNames: string[], validityDays: number, now = NOW) =>
    issueServingBundle({ dnsNames, validityDays, now });
  [good, other, fewerNames, moreNames, nearExpiry, expired] = await Promise.all([
    issue(NAMES, 365),
    issue(NAMES, 365),
    issue(NAMES.slice(0, 3), 365),
    issue([...NAMES, "extra.example"], 365),
    issue(NAMES, 40, ago(20)),
    issue(NAMES, 10, ago(20)),
  ]);
  // A serving certificate that outlives its CA: the CA's expiry is what counts.
  const shortCa = await issueServingBundle({ dnsNames: ["x"], validityDays: 10, now: NOW });
  caNearExpiry = await issueServingBundle({ dnsNames: NAMES, validityDays: 365, ca: shortCa.ca, now: NOW });
});

type Case = [name: string, existing: () => ExistingPair | undefined, reason: IssueReason, why: RegExp];

const ISSUE_CASES: Case[] = [
  ["no Secret", () => undefined, "missing", /^the Secret does not exist$/],
  ["no tls.key", () => ({ ...pairOf(good), key: undefined }), "missing", /^the Secret has no tls\.key$/],
  [
    "empty tls.crt and ca.crt",
    () => ({ key: good.serving.key, cert: " ", ca: "" }),
    "missing",
    /tls\.crt, ca\.crt$/,
  ],
  ["tls.crt not PEM", () => ({ ...pairOf(good), cert: "garbage" }), "unparsable", /^tls\.crt is not/],
  ["ca.crt not PEM", () => ({ ...pairOf(good), ca: "garbage" }), "unparsable", /^ca\.crt is not/],
  ["key of another pair", () => ({ ...pairOf(good), key: other.serving.key }), "key-mismatch", /tls\.key/],
  ["ca.crt of another CA", () => ({ ...pairOf(good), ca: other.ca.cert }), "not-signed-by-ca", /not signed/],
  [
    "a name missing",
    () => pairOf(fewerNames),
    "names-differ",
    /does not name ecr-webhook\.ecr-webhook\.svc\.cluster\.local$/,
  ],
  ["an extra name", () => pairOf(moreNames), "names-differ", /also names extra\.example$/],
  ["20 days left", () => pairOf(nearExpiry), "expiring", /expires at .*within --renew-before 720h$/],
  ["expired", () => pairOf(expired), "expiring", /expired at/],
  ["CA with 10 days left", () => pairOf(caNearExpiry), "expiring", /within --renew-before/],
];

describe("decideCertificate", () => {
  it.each(ISSUE_CASES)("issues when %s", (_name, existing, reason, why) => {
    const decision = decideCertificate({
      existing: existing(),
      dnsNames: NAMES,
      now: NOW,
      renewBeforeMs: RENEW_BEFORE,
    });
    expect(decision).toMatchObject({ action: "issue", reason });
    expect(decision.action === "issue" && decision.why).toMatch(why);
  });

  it("reuses a valid certificate with exactly the wanted names, whatever their order", () => {
    const decision = decideCertificate({
      existing: pairOf(good),
      dnsNames: [...NAMES].reverse(),
      now: NOW,
      renewBeforeMs: RENEW_BEFORE,
    });
    expect(decision).toEqual({
      action: "reuse",
      notAfter: new Date(NOW.getTime() - 60_000 + 365 * DAY),
    });
  });

  it.each([
    [0, "reuse"],
    [19 * DAY, "reuse"],
    [21 * DAY, "issue"],
  ] as const)("with renew-before %d ms and 20 days left: %s", (renewBeforeMs, action) => {
    const decision = decideCertificate({
      existing: pairOf(nearExpiry),
      dnsNames: NAMES,
      now: NOW,
      renewBeforeMs,
    });
    expect(decision.action).toBe(action);
  });
});

/**
 * Log hygiene: the whole webhook at --log-level=debug (real namespace cache, ensurer, token source,
 * SDK and client-node against the loopback stand-ins) through the suite's main scenarios, and not one
 * captured log line may contain a credential: no ECR password, no `auth` (base64 of "AWS:<password>"),
 * no `.dockerconfigjson` value of any Secret the stand-in ever held or was sent, no secret access key
 * or session token STS handed out, not even a 24-character piece of one.
 *
 * STS answers are read by a recording forwarder put between the SDK and the AWS stand-in (which keeps
 * the role credentials it issues to itself); the test asserts that it did see them, so that the check
 * covers them for real.
 */
import { randomBytes } from "node:crypto";
import { createServer, request, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_SECRET_ACCESS_KEY } from "../support/aws/index.js";
import {
  EAST,
  OTHER,
  ROLE,
  SECRET,
  WEST,
  authsOf,
  patchOf,
  seedPullSecret,
  startStack,
  type Stack,
  type StackOptions,
} from "../support/fault-stack.js";
import { loadApiStatus } from "../support/fixtures.js";
import { ENABLED } from "../support/harness.js";

const HOUR = 3_600_000;
/** A registry of the default identity that no other scenario fetched a token for yet. */
const WEST_2 = "123456789012.dkr.ecr.us-west-2.amazonaws.com";

// ---------------------------------------------------------------------------------------------------
// The detector.

interface Credential {
  /** What it is, for the failure message: the value itself is never printed. */
  label: string;
  value: string;
}

/** Pieces this long of a random credential identify it; shorter credentials are matched whole. */
const PIECE = 24;

function piecesOf(value: string, split: boolean): string[] {
  if (!split || value.length < 2 * PIECE) return [value];
  const pieces = [value];
  for (let at = 0; at + PIECE <= value.length; at += PIECE) pieces.push(value.slice(at, at + PIECE));
  return pieces;
}

/**
 * A credential-bearing field logged with a value, known credential or not (pino's redaction writes
 * "[redacted]" instead).
 */
const CREDENTIAL_FIELD =
  /"(password|auth|authorizationToken|secretAccessKey|SecretAccessKey|sessionToken|SessionToken|\.dockerconfigjson)":"(?!\[redacted\])/;

/** Numbers of the lines that log a credential-bearing field (the lines themselves are not printed). */
function credentialFieldLines(lines: readonly string[]): number[] {
  return lines.flatMap((line, i) => (CREDENTIAL_FIELD.test(line) ? [i] : []));
}

/** Labels of the credentials that appear (whole, or any piece of a token-like one) in the lines. */
function leaks(lines: readonly string[], credentials: readonly Credential[]): string[] {
  const text = lines.join("\n");
  return credentials
    .filter(({ label, value }) =>
      piecesOf(value, !label.startsWith(".dockerconfigjson")).some((p) => text.includes(p)),
    )
    .map(({ label }) => label);
}

function dockerConfigCredentials(where: string, data: unknown): Credential[] {
  if (typeof data !== "string" || data === "") return [];
  const out: Credential[] = [{ label: `.dockerconfigjson of ${where}`, value: data }];
  let auths: Record<string, { password?: unknown; auth?: unknown }> = {};
  try {
    auths = JSON.parse(Buffer.from(data, "base64").toString("utf8")).auths ?? {};
  } catch {
    return out;
  }
  for (const [host, entry] of Object.entries(auths)) {
    if (typeof entry.password === "string" && entry.password !== "")
      out.push({ label: `password for ${host} in ${where}`, value: entry.password });
    if (typeof entry.auth === "string" && entry.auth !== "")
      out.push({ label: `auth for ${host} in ${where}`, value: entry.auth });
  }
  return out;
}

/** Credentials a scenario put in place itself (seeded Secrets that rotation later overwrote). */
let seeded: Credential[] = [];

/** Every credential the stand-ins issued, stored or were sent during the scenario. */
function credentialsOf(stack: Stack, sts: StsRecorder): Credential[] {
  const out: Credential[] = [
    { label: "static secret access key", value: DEFAULT_SECRET_ACCESS_KEY },
    { label: "Kubernetes bearer token", value: stack.kube.kubeConfig().getCurrentUser()!.token! },
    ...seeded,
  ];
  // The `auth` is also exactly the authorizationToken GetAuthorizationToken answered with.
  for (const [i, token] of stack.aws.tokens.entries()) {
    out.push({ label: `ECR password #${i}`, value: token.password });
    out.push({ label: `ECR auth #${i}`, value: Buffer.from(`AWS:${token.password}`).toString("base64") });
  }
  for (const secret of stack.kube.listObjects("secrets")) {
    const where = `Secret ${secret.metadata?.namespace}/${secret.metadata?.name}`;
    out.push(...dockerConfigCredentials(where, (secret.data as any)?.[".dockerconfigjson"]));
  }
  // Every version ever written, not only the last one each Secret holds.
  for (const [i, req] of stack.kube.requests.entries()) {
    if (req.resource !== "secrets" || !req.body || typeof req.body !== "object") continue;
    const data = (req.body as any).data?.[".dockerconfigjson"];
    out.push(...dockerConfigCredentials(`request #${i} (${req.verb} ${req.namespace}/${req.name})`, data));
  }
  for (const [i, issued] of sts.issued.entries()) {
    out.push({ label: `STS secret access key #${i}`, value: issued.secretAccessKey });
    out.push({ label: `STS session token #${i}`, value: issued.sessionToken });
  }
  const seen = new Set<string>();
  return out.filter(({ value }) => value.length >= 8 && !seen.has(value) && seen.add(value));
}

// ---------------------------------------------------------------------------------------------------
// A forwarder between the SDK and the AWS stand-in that reads what STS hands out.

interface StsRecorder {
  url: string;
  /** Where to forward (set once the stand-in is up). */
  target: string;
  issued: { secretAccessKey: string; sessionToken: string }[];
  close(): Promise<void>;
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

async function startStsRecorder(): Promise<StsRecorder> {
  const recorder: StsRecorder = { url: "", target: "", issued: [], close: () => Promise.resolve() };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
        const target = new URL(req.url ?? "/", recorder.target);
        const out = request(
          {
            host: target.hostname,
            port: target.port,
            path: target.pathname + target.search,
            method: req.method,
          },
          resolve,
        );
        for (const [name, value] of Object.entries(req.headers))
          if (value !== undefined) out.setHeader(name, value);
        out.on("error", reject);
        out.end(body);
      });
      const answer = await readAll(upstream);
      const xml = answer.toString("utf8");
      const key = /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(xml)?.[1];
      const token = /<SessionToken>([^<]+)<\/SessionToken>/.exec(xml)?.[1];
      if (key && token) recorder.issued.push({ secretAccessKey: key, sessionToken: token });
      res.writeHead(upstream.statusCode ?? 502, upstream.headers);
      res.end(answer);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  recorder.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  recorder.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return recorder;
}

// ---------------------------------------------------------------------------------------------------

let stack: Stack | undefined;
let sts: StsRecorder | undefined;

/** startStack at debug level, with STS reached through the recorder (also by the first rotation). */
async function start(options: StackOptions = {}): Promise<Stack> {
  const recorder = await startStsRecorder();
  sts = recorder;
  stack = await startStack({
    ...options,
    logLevel: "debug",
    seed: (kube, proxy) => {
      // startStack has pointed the SDK at the stand-in; put the recorder in between.
      recorder.target = process.env.AWS_ENDPOINT_URL_STS!;
      process.env.AWS_ENDPOINT_URL_STS = recorder.url;
      options.seed?.(kube, proxy);
    },
  });
  return stack;
}

afterEach(async () => {
  try {
    if (!stack || !sts) return;
    // The webhook really logs at debug level: a review it skips is logged only there.
    await stack.review("not-enabled");
    expect(stack.logs.parsed().some((l) => l.level === "debug" && l.msg === "admitted unchanged")).toBe(true);
    const lines = stack.logs.lines;
    const credentials = credentialsOf(stack, sts);
    // The scenario really produced credentials to look for.
    expect(credentials.some((c) => c.label.startsWith("ECR password"))).toBe(true);
    expect(credentials.some((c) => c.label.startsWith(".dockerconfigjson"))).toBe(true);
    expect(leaks(lines, credentials)).toEqual([]);
    expect(credentialFieldLines(lines)).toEqual([]);
    // Positive control on this scenario's own data: one leaked line would have been caught.
    for (const credential of credentials) {
      const line = JSON.stringify({ level: "warn", msg: "oops", detail: `x${credential.value}x` });
      expect(leaks([...lines, line], credentials)).toContain(credential.label);
    }
  } finally {
    await stack?.close();
    await sts?.close();
    stack = undefined;
    sts = undefined;
    seeded = [];
  }
});

/** A long random password, so that finding it in a log cannot be a coincidence. */
const seededPassword = () => randomBytes(96).toString("base64");

/** Remembers the credentials of a Secret as seeded, before anything overwrites it. */
function rememberSeeded(kube: Stack["kube"], namespace: string): void {
  const secret: any = kube.get("secrets", namespace, SECRET);
  seeded.push(...dockerConfigCredentials(`seeded Secret ${namespace}`, secret?.data?.[".dockerconfigjson"]));
}

const withWest = (review: any) => {
  review.request.object.spec.initContainers = [{ name: "migrate", image: `${WEST}/tools/migrate:1` }];
};
const withWest2 = (review: any) => {
  review.request.object.spec.containers[0].image = `${WEST_2}/shop/web:1`;
};
const logged = (s: Stack, msg: string, namespace?: string) =>
  s.logs.parsed().some((l) => l.msg === msg && (namespace === undefined || l.namespace === namespace));

describe("the detector", () => {
  it("finds a credential whole, as a piece, and inside a JSON log line; and nothing in clean lines", () => {
    const password = randomBytes(1200).toString("base64");
    const auth = Buffer.from(`AWS:${password}`).toString("base64");
    const dockerconfigjson = Buffer.from(JSON.stringify({ auths: { [EAST]: { password, auth } } })).toString(
      "base64",
    );
    const credentials: Credential[] = [
      { label: "password", value: password },
      { label: "auth", value: auth },
      ...dockerConfigCredentials("Secret a/b", dockerconfigjson),
      { label: "session token", value: randomBytes(300).toString("base64") },
    ];
    const clean = [
      JSON.stringify({ level: "info", msg: "ECR token obtained", region: "us-east-1" }),
      JSON.stringify({ level: "debug", msg: "admitted unchanged", reason: "operation UPDATE" }),
    ];
    expect(leaks(clean, credentials)).toEqual([]);
    expect(leaks([...clean, JSON.stringify({ msg: "x", err: `Bearer ${password}` })], credentials)).toEqual([
      "password",
      "password for 123456789012.dkr.ecr.us-east-1.amazonaws.com in Secret a/b",
    ]);
    // A truncated error message carrying only part of a token still counts.
    expect(leaks([`{"msg":"bad token ${password.slice(500, 560)}..."}`], credentials)).toContain("password");
    expect(leaks([auth], credentials)).toContain("auth");
    expect(leaks([`{"data":{".dockerconfigjson":"${dockerconfigjson}"}}`], credentials)).toContain(
      ".dockerconfigjson of Secret a/b",
    );
    // A credential field with a value is caught even when the value is not a known credential.
    expect(credentialFieldLines([...clean, '{"msg":"x","auths":{"h":{"password":"hunter2"}}}'])).toEqual([2]);
    expect(credentialFieldLines(['{"msg":"x","secret":{"data":{".dockerconfigjson":"eyJ9"}}}'])).toEqual([0]);
    expect(
      credentialFieldLines(['{"msg":"x","err":{"password":"[redacted]","token":"[redacted]"}}']),
    ).toEqual([]);
  });
});

describe("no credential in any log line at --log-level=debug", () => {
  it("admission: cold review creating the Secret, warm review, two accounts with a role, dryRun, a ServiceAccount", async () => {
    const s = await start({
      argv: [
        `--account-role=210987654321=${ROLE}`,
        "--default-account=123456789012",
        "--default-region=us-east-1",
      ],
    });
    s.kube.addNamespace("cold", { labels: ENABLED });
    const cold = await s.review("cold");
    expect(patchOf(cold.body)).toHaveLength(1);
    expect(authsOf(s.kube, "cold")?.[EAST]?.password).toBe(s.aws.tokens[0]!.password);
    const warm = await s.review("cold");
    expect(warm.body.response.warnings).toBeUndefined();

    s.kube.addNamespace("multi", { labels: ENABLED });
    const multi = await s.review("multi", { mutate: withWest });
    expect(multi.body.response.warnings).toBeUndefined();
    expect(Object.keys(authsOf(s.kube, "multi")!).sort()).toEqual([EAST, WEST]);
    expect(sts!.issued).toHaveLength(1);

    s.kube.addNamespace("dry", { labels: ENABLED });
    const dry = await s.review("dry", {
      mutate: (r) => {
        r.request.dryRun = true;
        withWest(r);
      },
    });
    expect(patchOf(dry.body)).toHaveLength(1);
    expect(s.kube.get("secrets", "dry", SECRET)).toBeUndefined();

    s.kube.addNamespace("sa", { labels: ENABLED });
    const sa = await s.review("sa", {
      mutate: (r) => {
        r.request.kind = { group: "", version: "v1", kind: "ServiceAccount" };
        r.request.object = {
          kind: "ServiceAccount",
          apiVersion: "v1",
          metadata: { name: "builder", namespace: "sa" },
        };
      },
    });
    expect(patchOf(sa.body)).toHaveLength(2);
    expect(authsOf(s.kube, "sa")?.[EAST]).toBeDefined();
  });

  it("ECR throttling and 500s, recovered and exhausted; STS failing for the role", async () => {
    const s = await start({ argv: ["--admission-deadline=300ms", `--account-role=210987654321=${ROLE}`] });
    s.kube.addNamespace("throttled", { labels: ENABLED });
    s.aws.throttleNext("GetAuthorizationToken", 2);
    await s.review("throttled");
    await expect.poll(() => authsOf(s.kube, "throttled")?.[EAST], { timeout: 10_000 }).toBeDefined();

    // Five 500s: the whole retry budget; the ensure fails, and the background retry completes it.
    s.kube.addNamespace("failing", { labels: ENABLED });
    s.aws.failNext("GetAuthorizationToken", 5, 500);
    await s.review("failing", { mutate: withWest2 });
    await expect.poll(() => logged(s, "ECR token request failed"), { timeout: 15_000 }).toBe(true);

    s.kube.addNamespace("sts", { labels: ENABLED });
    s.aws.failNext("AssumeRole", 4, 500);
    await s.review("sts", { mutate: withWest });
    await expect.poll(() => authsOf(s.kube, "sts")?.[WEST], { timeout: 10_000 }).toBeDefined();
    expect(sts!.issued.length).toBeGreaterThanOrEqual(1);
  });

  it("Kubernetes API errors: 500s, 403, 422, a conflict storm, and an unmanaged Secret of the same name", async () => {
    const s = await start({ argv: ["--admission-deadline=2s"] });
    const stale = seededPassword();
    const other = seededPassword();
    const expiresIn = (hours: number) => new Date(Date.now() + hours * HOUR);
    const seed = (ns: string) => {
      seedPullSecret(s.kube, ns, {
        [EAST]: { password: stale, expiresAt: expiresIn(1) },
        [OTHER]: { password: other, expiresAt: expiresIn(10) },
      });
      rememberSeeded(s.kube, ns);
    };
    const secretWrite = (r: any) => r.resource === "secrets" && ["create", "update"].includes(r.verb);

    seed("api-500");
    s.kube.failNext({ status: 500, times: 3, match: secretWrite });
    await s.review("api-500");
    await expect
      .poll(() => authsOf(s.kube, "api-500")?.[EAST]?.password, { timeout: 10_000 })
      .not.toBe(stale);

    seed("api-403");
    s.kube.failNext({ status: 403, body: loadApiStatus("403-anonymous-forbidden.json"), match: secretWrite });
    const forbidden = await s.review("api-403");
    expect(forbidden.body.response.warnings).toHaveLength(1);

    seed("api-422");
    s.kube.failNext({ status: 422, body: loadApiStatus("422-secret-invalid.json"), match: secretWrite });
    const invalid = await s.review("api-422");
    expect(invalid.body.response.warnings).toHaveLength(1);

    seed("storm");
    s.kube.conflictNext({ times: 10, match: (r) => r.resource === "secrets" });
    const storm = await s.review("storm");
    expect(storm.body.response.warnings?.[0]).toMatch(/the object has been modified/);
    const after = await s.review("storm");
    expect(after.body.response.warnings).toBeUndefined();

    s.kube.addNamespace("theirs", { labels: ENABLED });
    const theirs = seededPassword();
    s.kube.put("secrets", "theirs", {
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/dockerconfigjson",
      metadata: { name: SECRET, namespace: "theirs" },
      data: {
        ".dockerconfigjson": Buffer.from(
          JSON.stringify({
            auths: {
              [EAST]: {
                username: "AWS",
                password: theirs,
                auth: Buffer.from(`AWS:${theirs}`).toString("base64"),
              },
            },
          }),
        ).toString("base64"),
      },
    });
    rememberSeeded(s.kube, "theirs");
    const unmanaged = await s.review("theirs");
    expect(unmanaged.body.response.warnings?.[0]).toMatch(/is not managed by ecr-webhook/);
    await expect
      .poll(() => s.kube.listObjects("events", "theirs").map((e: any) => e.reason), { timeout: 5_000 })
      .toContain("UnmanagedPullSecret");
  });

  it("rotation: the controller refreshes stale Secrets, a role-mapped registry included", async () => {
    const passwords = [seededPassword(), seededPassword(), seededPassword()];
    const s = await start({
      controller: true,
      argv: ["--leader-elect=false", "--rotation-interval=1s", `--account-role=210987654321=${ROLE}`],
      seed: (kube) => {
        for (const [i, ns] of ["rot-0", "rot-1"].entries()) {
          seedPullSecret(kube, ns, {
            [EAST]: { password: passwords[i]!, expiresAt: new Date(Date.now() + 1 * HOUR) },
            [WEST]: { password: passwords[2]!, expiresAt: new Date(Date.now() + 2 * HOUR) },
          });
          rememberSeeded(kube, ns);
        }
      },
    });
    const refreshed = (ns: string) => {
      const auths = authsOf(s.kube, ns);
      return (
        !!auths && !passwords.includes(auths[EAST]!.password) && !passwords.includes(auths[WEST]!.password)
      );
    };
    await expect.poll(() => refreshed("rot-0") && refreshed("rot-1"), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => logged(s, "rotation cycle finished"), { timeout: 10_000 }).toBe(true);
    expect(seeded.map((c) => c.label)).toHaveLength(2 * 5); // per Secret: the whole, and two hosts' password and auth
    expect(sts!.issued.length).toBeGreaterThanOrEqual(1);
  });
});

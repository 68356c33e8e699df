/**
 * Every identity the AWS SDK's default credential chain offers the webhook, end to end: the real
 * webhook (admission → Secret ensurer → token source → @aws-sdk/client-ecr / client-sts and the
 * chain's own providers) against the AWS stand-in, which verifies every signature and records which
 * credentials signed each call and how they were issued. Each test ends with the pull Secret holding
 * the ECR token the stand-in issued to exactly the identity under test.
 *
 * The chain reads its environment when a client first resolves credentials, and the webhook creates
 * its clients on the first token it needs: the identity's variables are set after the harness starts
 * (which sets static test keys) and before the first review.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
  type AssumeRoleWithWebIdentityCommandInput,
} from "@aws-sdk/client-sts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  serviceAccountToken,
  startAwsStandIn,
  startPodIdentityAgent,
  type AwsCall,
  type AwsStandIn,
  type AwsStandInOptions,
  type IssuedEcrToken,
  type PodIdentityAgent,
} from "../support/aws/index.js";
import { useAwsIdentity } from "../support/aws-env.js";
import { dockerConfigOf, ENABLED, leakedSecrets, startHarness, type Harness } from "../support/harness.js";
import { startKubeApi, type KubeApiStandIn } from "../support/kube-api/index.js";
import { managedSecret } from "../support/managed-secret.js";
import { runCli } from "../support/webhook-process.js";

const run = promisify(execFile);
const HOUR = 3_600_000;
const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const WEST = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";
/** The cluster's service-account issuer, registered as an IAM OIDC provider in the webhook's account. */
const ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const SUBJECT = "system:serviceaccount:ecr-webhook:ecr-webhook";
/** The webhook's own role (IRSA / Pod Identity), in the account of the default registry. */
const WEBHOOK_ROLE = "arn:aws:iam::123456789012:role/ecr-webhook";
/** A role in another account, mapped with --account-role. */
const PULL_ROLE = "arn:aws:iam::210987654321:role/ecr-pull";
const EXTERNAL_ID = "ecr-webhook-3f9a";
const ACCOUNT_ROLE_FLAG = `--account-role=210987654321=${PULL_ROLE}#${EXTERNAL_ID}`;
/** Long-term keys of an IAM user, for the static-keys case (not the harness's default test keys). */
const STATIC_KEY = {
  accessKeyId: "AKIAIDENTITYTESTKEY1",
  secretAccessKey: "static-identity-secret-not-real",
};

/** IAM as the tests need it: the webhook role trusts the cluster's service account, the pull role an external ID. */
const AWS_SETUP: AwsStandInOptions = {
  roles: {
    [WEBHOOK_ROLE]: { webIdentity: { issuer: ISSUER, subjects: [SUBJECT] } },
    [PULL_ROLE]: { externalId: EXTERNAL_ID },
  },
  identities: [{ ...STATIC_KEY, account: "123456789012", arn: "arn:aws:iam::123456789012:user/ecr-webhook" }],
  allowUnknownRoles: false,
};

interface Rig {
  h: Harness;
  dir: string;
  agent?: PodIdentityAgent;
  /** The projected service-account token the pod holds (web identity / Pod Identity). */
  saToken?: string;
  restoreEnv: () => void;
}

let rig: Rig | undefined;
afterEach(async () => {
  if (rig) {
    expect(leakedSecrets(rig.h.logs, rig.h.aws)).toEqual([]);
    // Compared as a boolean so that a failure prints no token.
    if (rig.saToken) expect(rig.h.logs.lines.join("\n").includes(rig.saToken)).toBe(false);
    rig.restoreEnv();
    await rig.agent?.close();
    await rig.h.close();
  }
  rig = undefined;
});

type Identity = "web identity" | "pod identity" | "static keys";

/** The webhook with `identity` as the only credentials the default chain can find. */
async function startWith(
  identity: Identity,
  options: { argv?: string[]; now?: () => number; awsNow?: () => number; env?: Record<string, string> } = {},
): Promise<Rig> {
  const h = await startHarness({
    argv: options.argv,
    now: options.now,
    aws: { ...AWS_SETUP, ...(options.awsNow ? { now: options.awsNow } : {}) },
  });
  const dir = await mkdtemp(join(tmpdir(), "ecr-webhook-identity-"));
  const tokenFile = join(dir, "token");
  let env: Record<string, string>;
  let agent: PodIdentityAgent | undefined;
  let saToken: string | undefined;
  if (identity === "web identity") {
    saToken = serviceAccountToken({ iss: ISSUER, sub: SUBJECT });
    await writeFile(tokenFile, saToken);
    env = { AWS_ROLE_ARN: WEBHOOK_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile };
  } else if (identity === "pod identity") {
    // Pod Identity tokens are projected with the audience pods.eks.amazonaws.com.
    saToken = serviceAccountToken({ iss: ISSUER, sub: SUBJECT, aud: "pods.eks.amazonaws.com" });
    await writeFile(tokenFile, saToken);
    agent = await startPodIdentityAgent(h.aws, { clusterName: "prod" });
    agent.associate(saToken, WEBHOOK_ROLE);
    env = agent.containerEnv(tokenFile);
  } else {
    env = { AWS_ACCESS_KEY_ID: STATIC_KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: STATIC_KEY.secretAccessKey };
  }
  const restoreEnv = useAwsIdentity(h.aws, { ...env, ...options.env });
  rig = { h, dir, agent, saToken, restoreEnv };
  return rig;
}

/** A pod with images from the default registry and, when asked, from the mapped account's registry. */
async function reviewPod(h: Harness, namespace: string, alsoWest = false) {
  if (!h.kube.get("namespaces", undefined, namespace)) h.kube.addNamespace(namespace, { labels: ENABLED });
  const res = await h.reviewPod(namespace, (r) => {
    if (alsoWest)
      r.request.object.spec.initContainers = [{ name: "migrate", image: `${WEST}/tools/migrate:1` }];
  });
  return res.response as { allowed: boolean; warnings?: string[] };
}

/** The token in the namespace's pull Secret for `host`, and the ECR call the stand-in answered with it. */
function tokenBehind(
  aws: AwsStandIn,
  secret: unknown,
  host: string,
): { token: IssuedEcrToken; call: AwsCall } {
  const password = dockerConfigOf(secret).auths[host]?.password;
  const token = aws.tokens.find((t) => t.password === password);
  if (!token) throw new Error(`the Secret's entry for ${host} holds no token the stand-in issued`);
  const call = aws.calls.find(
    (c) => c.service === "ecr" && c.status === 200 && c.accessKeyId === token.accessKeyId,
  );
  if (!call) throw new Error(`no answered ECR call was signed by ${token.accessKeyId}`);
  return { token, call };
}

const secretIn = (h: Harness, namespace: string) => h.kube.get("secrets", namespace, "ecr-pull-secret");

/** RoleSessionName of every session STS issued in exchange for `webIdentityToken`. */
const sessionsFor = (aws: AwsStandIn, webIdentityToken: string) =>
  aws.calls
    .filter(
      (c) =>
        c.action === "AssumeRoleWithWebIdentity" &&
        c.status === 200 &&
        c.params.WebIdentityToken === webIdentityToken,
    )
    .map((c) => c.params.RoleSessionName);

/** The session whose credentials signed the ECR call behind the namespace's default-registry entry. */
const sessionBehind = (h: Harness, namespace: string) =>
  tokenBehind(h.aws, secretIn(h, namespace), EAST).call.origin?.sessionName;

describe("IRSA / web identity: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE", () => {
  it("STS is called unsigned with the token file; ECR is signed by that session; the Secret holds its token", async () => {
    const { h, saToken } = await startWith("web identity", {
      env: { AWS_ROLE_SESSION_NAME: "ecr-webhook-7c9d" },
    });
    const res = await reviewPod(h, "team-a");
    expect(res.warnings).toBeUndefined();

    const exchanges = h.aws.calls.filter((c) => c.action === "AssumeRoleWithWebIdentity");
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]).toMatchObject({
      service: "sts",
      status: 200,
      // Unsigned: the token is the credential.
      accessKeyId: undefined,
      region: undefined,
      params: { RoleArn: WEBHOOK_ROLE, RoleSessionName: "ecr-webhook-7c9d" },
    });
    expect(exchanges[0]!.params.WebIdentityToken === saToken).toBe(true);

    const { token, call } = tokenBehind(h.aws, secretIn(h, "team-a"), EAST);
    expect(call.origin).toEqual({
      via: "AssumeRoleWithWebIdentity",
      roleArn: WEBHOOK_ROLE,
      sessionName: "ecr-webhook-7c9d",
      subject: SUBJECT,
    });
    expect(token).toMatchObject({ account: "123456789012", region: "us-east-1" });
    // Nothing was signed with anything but the web identity session.
    const signers = new Set(h.aws.calls.filter((c) => c.accessKeyId).map((c) => c.origin?.via));
    expect([...signers]).toEqual(["AssumeRoleWithWebIdentity"]);
  });

  it("the SDK's STS client also follows AWS_ENDPOINT_URL when no service-specific endpoint is set", async () => {
    const { h } = await startWith("web identity");
    delete process.env.AWS_ENDPOINT_URL_ECR;
    delete process.env.AWS_ENDPOINT_URL_STS;
    delete process.env.AWS_ENDPOINT_URL_ECR_PUBLIC;
    process.env.AWS_ENDPOINT_URL = h.aws.url;
    expect((await reviewPod(h, "team-a")).warnings).toBeUndefined();
    expect(h.aws.count({ action: "AssumeRoleWithWebIdentity", status: 200 })).toBe(1);
    expect(tokenBehind(h.aws, secretIn(h, "team-a"), EAST).call.origin?.via).toBe(
      "AssumeRoleWithWebIdentity",
    );
  });

  it("a service account the role does not trust: AccessDenied from STS, no ECR call, no Secret", async () => {
    const { h, dir } = await startWith("web identity");
    await writeFile(
      join(dir, "token"),
      serviceAccountToken({ iss: ISSUER, sub: "system:serviceaccount:default:intruder" }),
    );
    const res = await reviewPod(h, "team-a");
    expect(res.warnings).toEqual([
      expect.stringMatching(/^ecr-webhook: pull Secret not ready: .*AccessDenied/),
    ]);
    expect(h.aws.calls.filter((c) => c.action === "AssumeRoleWithWebIdentity").map((c) => c.error)).toContain(
      "AccessDenied",
    );
    expect(h.aws.count({ service: "ecr" })).toBe(0);
    expect(secretIn(h, "team-a")).toBeUndefined();
  });

  it("a rotated token file is read again when the session nears expiry; later calls use the new session", async () => {
    // STS's clock runs 56 minutes behind this machine's: the one-hour sessions it issues look, to
    // the SDK, 4 minutes from expiry (it refreshes under 5), while the stand-in still accepts them.
    // The webhook's clock is moved forward by hand to make its cached ECR token due again.
    let ahead = 0;
    const { h, dir, saToken } = await startWith("web identity", {
      now: () => Date.now() + ahead,
      awsNow: () => Date.now() - 56 * 60_000,
    });
    const stsAnswered = () =>
      h.aws.calls.filter((c) => c.service === "sts").every((c) => c.status !== undefined);
    await reviewPod(h, "ns-1");
    expect(sessionsFor(h.aws, saToken!)).toContain(sessionBehind(h, "ns-1"));
    await expect.poll(stsAnswered).toBe(true);

    // kubelet rewrites the projected token; sessions from the old one stay valid.
    const rotated = serviceAccountToken({ iss: ISSUER, sub: SUBJECT });
    await writeFile(join(dir, "token"), rotated);
    ahead = 7 * HOUR;
    await reviewPod(h, "ns-2");
    // Credentials near expiry are served as they are while the chain refreshes them in the
    // background; that refresh reads the token file again.
    expect(sessionsFor(h.aws, saToken!)).toContain(sessionBehind(h, "ns-2"));
    await expect.poll(() => sessionsFor(h.aws, rotated).length).toBeGreaterThan(0);
    await expect.poll(stsAnswered).toBe(true);

    ahead = 10 * HOUR;
    await reviewPod(h, "ns-3");
    expect(sessionsFor(h.aws, rotated)).toContain(sessionBehind(h, "ns-3"));
  });

  it("with --account-role: AssumeRole is signed by the web identity session, ECR by the assumed role", async () => {
    const { h } = await startWith("web identity", { argv: [ACCOUNT_ROLE_FLAG] });
    expect((await reviewPod(h, "multi", true)).warnings).toBeUndefined();
    expectAssumedOnTopOf(h, "AssumeRoleWithWebIdentity");
  });
});

describe("EKS Pod Identity: AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", () => {
  it("the agent is asked with the token file; ECR is signed by the credentials it handed out", async () => {
    const { h, agent } = await startWith("pod identity");
    expect((await reviewPod(h, "team-a")).warnings).toBeUndefined();
    expect(agent!.requests).toEqual([
      expect.objectContaining({ method: "GET", path: "/v1/credentials", authorized: true, status: 200 }),
    ]);
    const { call } = tokenBehind(h.aws, secretIn(h, "team-a"), EAST);
    expect(call.accessKeyId).toBe(agent!.requests[0]!.accessKeyId);
    expect(call.origin).toMatchObject({
      via: "PodIdentity",
      roleArn: WEBHOOK_ROLE,
      subject: SUBJECT,
      sessionName: expect.stringMatching(/^eks-prod-ecr-webhook-/),
    });
    expect(h.aws.count({ service: "sts" })).toBe(0);
  });

  it("a token the agent rejects: no credentials, no ECR call, no Secret", async () => {
    const { h, agent, dir } = await startWith("pod identity");
    // A token of another ServiceAccount, which has no association.
    const intruder = serviceAccountToken({
      iss: ISSUER,
      sub: "system:serviceaccount:default:intruder",
      aud: "pods.eks.amazonaws.com",
    });
    await writeFile(join(dir, "token"), intruder);
    const res = await reviewPod(h, "team-a");
    // The SDK retries the agent for a few seconds: the review is answered at its deadline.
    expect(res.warnings).toEqual([expect.stringMatching(/not confirmed within/)]);
    const failed = () => h.logs.parsed().find((l) => l.msg === "ECR token request failed");
    await expect.poll(failed, { timeout: 20_000 }).toBeDefined();
    // What the operator reads is the chain's summary, not the agent's answer.
    expect(failed()).toMatchObject({ error: "CredentialsProviderError" });
    expect(agent!.requests.length).toBeGreaterThan(0);
    expect(agent!.requests.every((r) => r.status === 400 && r.accessKeyId === undefined)).toBe(true);
    expect(h.aws.calls).toEqual([]);
    expect(secretIn(h, "team-a")).toBeUndefined();
  }, 30_000);

  it("with --account-role: AssumeRole is signed by the Pod Identity credentials, ECR by the assumed role", async () => {
    const { h } = await startWith("pod identity", { argv: [ACCOUNT_ROLE_FLAG] });
    expect((await reviewPod(h, "multi", true)).warnings).toBeUndefined();
    expectAssumedOnTopOf(h, "PodIdentity");
  });
});

describe("static keys: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY", () => {
  it("ECR is signed by the key in the environment; the Secret holds the token issued to it", async () => {
    const { h } = await startWith("static keys");
    expect((await reviewPod(h, "team-a")).warnings).toBeUndefined();
    const { call } = tokenBehind(h.aws, secretIn(h, "team-a"), EAST);
    expect(call).toMatchObject({ accessKeyId: STATIC_KEY.accessKeyId, account: "123456789012" });
    // Long-term keys: nothing issued them.
    expect(call.origin).toBeUndefined();
    expect(h.aws.count({ service: "sts" })).toBe(0);
  });

  it("with --account-role: AssumeRole is signed by the static key, ECR by the assumed role", async () => {
    const { h } = await startWith("static keys", { argv: [ACCOUNT_ROLE_FLAG] });
    expect((await reviewPod(h, "multi", true)).warnings).toBeUndefined();
    expectAssumedOnTopOf(h, undefined);
  });
});

/**
 * The Secret of namespace "multi": its default-registry entry holds a token issued to the base
 * identity (`via`, undefined for long-term keys), its mapped-account entry one issued to the role
 * assumed with ACCOUNT_ROLE_FLAG, through an AssumeRole call signed by that same base identity.
 */
function expectAssumedOnTopOf(
  h: Harness,
  via: "AssumeRoleWithWebIdentity" | "PodIdentity" | undefined,
): void {
  const secret = secretIn(h, "multi");
  const east = tokenBehind(h.aws, secret, EAST);
  expect(east.call.origin?.via).toBe(via);
  if (via === undefined) expect(east.call.accessKeyId).toBe(STATIC_KEY.accessKeyId);

  const assumeRoles = h.aws.calls.filter((c) => c.action === "AssumeRole");
  expect(assumeRoles).toHaveLength(1);
  const assume = assumeRoles[0]!;
  expect(assume).toMatchObject({
    status: 200,
    account: "123456789012",
    params: { RoleArn: PULL_ROLE, RoleSessionName: "ecr-webhook", ExternalId: EXTERNAL_ID },
  });
  expect(assume.origin?.via).toBe(via);
  if (via === undefined) expect(assume.accessKeyId).toBe(STATIC_KEY.accessKeyId);
  else expect(assume.origin?.roleArn).toBe(WEBHOOK_ROLE);

  const west = tokenBehind(h.aws, secret, WEST);
  expect(west.token).toMatchObject({ account: "210987654321", region: "eu-west-1" });
  expect(west.call.origin).toEqual({
    via: "AssumeRole",
    roleArn: PULL_ROLE,
    sessionName: "ecr-webhook",
    sourceAccessKeyId: assume.accessKeyId,
  });
}

describe("the shipped bundle's default chain", () => {
  let kube: KubeApiStandIn | undefined;
  let aws: AwsStandIn | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await kube?.close();
    await aws?.close();
    // The private bundle is 5 MB.
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("`refresh` with web identity only: the Secret ends up holding the web identity session's token", async () => {
    dir = await mkdtemp(join(tmpdir(), "ecr-webhook-identity-cli-"));
    // The package's own bundle script, into a private file: dist/ may be rebuilt by another suite meanwhile.
    const bundle = join(dir, "ecr-webhook.mjs");
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8"));
    const script: string = pkg.scripts.bundle;
    await run("sh", ["-c", script.replace("--outfile=dist/ecr-webhook.mjs", `--outfile=${bundle}`)], {
      env: { ...process.env, PATH: `${join(process.cwd(), "node_modules", ".bin")}:${process.env.PATH}` },
      timeout: 60_000,
    });

    kube = await startKubeApi();
    aws = await startAwsStandIn(AWS_SETUP);
    kube.addNamespace("team-a", { labels: ENABLED });
    kube.put("secrets", "team-a", managedSecret("team-a", { [EAST]: "old" }, new Date(Date.now() + HOUR)));
    const saToken = serviceAccountToken({ iss: ISSUER, sub: SUBJECT });
    await writeFile(join(dir, "token"), saToken);
    await writeFile(join(dir, "kubeconfig"), kube.kubeConfig().exportConfig());
    const nowhere = join(dir, "no-aws-config");
    const { stdout, stderr } = await runCli(["refresh", "--log-level=silent"], {
      bundle,
      kubeconfig: join(dir, "kubeconfig"),
      aws,
      // Of credentials, exactly what IRSA gives a pod: no keys, no shared files, no metadata service.
      env: {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_ROLE_ARN: WEBHOOK_ROLE,
        AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, "token"),
        AWS_CONFIG_FILE: nowhere,
        AWS_SHARED_CREDENTIALS_FILE: nowhere,
      },
      timeoutMs: 30_000,
    });
    expect(stdout).toMatch(/^✓ 1 enabled namespaces: 1 refreshed/);
    expect(stdout.includes(saToken) || stderr.includes(saToken)).toBe(false);
    const { call } = tokenBehind(aws, kube.get("secrets", "team-a", "ecr-pull-secret"), EAST);
    expect(call.origin).toMatchObject({
      via: "AssumeRoleWithWebIdentity",
      roleArn: WEBHOOK_ROLE,
      subject: SUBJECT,
    });
    const exchange = aws.calls.find((c) => c.action === "AssumeRoleWithWebIdentity");
    expect(exchange).toMatchObject({ status: 200, accessKeyId: undefined });
    expect(exchange!.params.WebIdentityToken === saToken).toBe(true);
  }, 60_000);
});

describe("the stand-ins answer as STS and the EKS Pod Identity Agent do", () => {
  let aws: AwsStandIn;
  let agent: PodIdentityAgent;
  const clients: STSClient[] = [];
  beforeAll(async () => {
    aws = await startAwsStandIn(AWS_SETUP);
    agent = await startPodIdentityAgent(aws);
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await agent.close();
    await aws.close();
  });

  /** The SDK's own STS client; its test keys are never used for the unsigned call. */
  const sts = (
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = {
      accessKeyId: "AKIDTESTTESTTESTTEST",
      secretAccessKey: "test-secret-key-not-real",
    },
  ) => {
    const client = new STSClient({ region: "us-east-1", endpoint: aws.url, maxAttempts: 1, credentials });
    clients.push(client);
    return client;
  };
  const exchange = (input: Partial<AssumeRoleWithWebIdentityCommandInput>) =>
    sts().send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: WEBHOOK_ROLE,
        RoleSessionName: "probe",
        WebIdentityToken: serviceAccountToken({ iss: ISSUER, sub: SUBJECT }),
        ...input,
      }),
    );
  /** The error the SDK raised, as name / HTTP status / message. */
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => "no error",
      (e: { name: string; message: string; $metadata?: { httpStatusCode?: number } }) =>
        `${e.name} ${e.$metadata?.httpStatusCode}: ${e.message}`,
    );

  it("AssumeRoleWithWebIdentity: unsigned, every response element, credentials STS then accepts", async () => {
    const out = await exchange({});
    const call = aws.calls.at(-1)!;
    expect(call).toMatchObject({ action: "AssumeRoleWithWebIdentity", status: 200, accessKeyId: undefined });
    expect(out).toMatchObject({
      SubjectFromWebIdentityToken: SUBJECT,
      Provider: ISSUER,
      Audience: "sts.amazonaws.com",
      AssumedRoleUser: {
        Arn: "arn:aws:sts::123456789012:assumed-role/ecr-webhook/probe",
        AssumedRoleId: expect.stringMatching(/^AROA[A-Z2-7]{17}:probe$/),
      },
    });
    expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA/);
    expect(out.Credentials!.Expiration!.getTime() - Date.now()).toBeGreaterThan(0.99 * HOUR);
    const who = await sts({
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
      sessionToken: out.Credentials!.SessionToken!,
    }).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe("arn:aws:sts::123456789012:assumed-role/ecr-webhook/probe");
    expect(aws.calls.at(-1)!.origin).toEqual({
      via: "AssumeRoleWithWebIdentity",
      roleArn: WEBHOOK_ROLE,
      sessionName: "probe",
      subject: SUBJECT,
    });
  });

  it("AssumeRoleWithWebIdentity: the errors STS gives, as the SDK reads them", async () => {
    const other = "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";
    expect(
      await failure(exchange({ WebIdentityToken: serviceAccountToken({ iss: other, sub: SUBJECT }) })),
    ).toBe(`InvalidIdentityTokenException 400: No OpenIDConnect provider found in your account for ${other}`);
    expect(
      await failure(
        exchange({ WebIdentityToken: serviceAccountToken({ iss: ISSUER, sub: SUBJECT, aud: "other" }) }),
      ),
    ).toBe("InvalidIdentityTokenException 400: Incorrect token audience");
    expect(await failure(exchange({ WebIdentityToken: "not-a-jwt" }))).toMatch(
      /^InvalidIdentityTokenException 400: The web identity token that was passed could not be validated by AWS/,
    );
    const expired = serviceAccountToken({ iss: ISSUER, sub: SUBJECT, expiresAt: Date.now() - 60_000 });
    expect(await failure(exchange({ WebIdentityToken: expired }))).toMatch(
      /^ExpiredTokenException 400: Token expired: current date\/time \d+ must be before the expiration date\/time \d+$/,
    );
    const intruder = serviceAccountToken({ iss: ISSUER, sub: "system:serviceaccount:default:intruder" });
    expect(await failure(exchange({ WebIdentityToken: intruder }))).toBe(
      "AccessDenied 403: Not authorized to perform sts:AssumeRoleWithWebIdentity",
    );
    // A role of the same account whose trust policy names no web identity.
    aws.setRole("arn:aws:iam::123456789012:role/keys-only", {});
    expect(await failure(exchange({ RoleArn: "arn:aws:iam::123456789012:role/keys-only" }))).toBe(
      "AccessDenied 403: Not authorized to perform sts:AssumeRoleWithWebIdentity",
    );
    // The role's account has no OIDC provider for the cluster's issuer.
    expect(await failure(exchange({ RoleArn: PULL_ROLE }))).toBe(
      `InvalidIdentityTokenException 400: No OpenIDConnect provider found in your account for ${ISSUER}`,
    );
    expect(await failure(exchange({ WebIdentityToken: undefined }))).toBe(
      "ValidationError 400: 1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null",
    );
    expect(await failure(exchange({ DurationSeconds: 7200 }))).toBe(
      "ValidationError 400: The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
  });

  it("the agent: credentials as JSON for an associated token, Go's plain-text errors otherwise", async () => {
    const token = serviceAccountToken({ iss: ISSUER, sub: SUBJECT, aud: "pods.eks.amazonaws.com" });
    agent.associate(token, WEBHOOK_ROLE);
    const get = async (authorization?: string, url = agent.url) => {
      const res = await fetch(url, { headers: authorization === undefined ? {} : { authorization } });
      return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
    };

    const ok = await get(token);
    expect(ok).toMatchObject({ status: 200, type: "application/json" });
    const body = JSON.parse(ok.text) as Record<string, string>;
    expect(Object.keys(body)).toEqual(["AccessKeyId", "SecretAccessKey", "Token", "AccountId", "Expiration"]);
    expect(body.AccountId).toBe("123456789012");
    expect(Date.parse(body.Expiration!) - Date.now()).toBeGreaterThan(0.99 * HOUR);
    const who = await sts({
      accessKeyId: body.AccessKeyId!,
      secretAccessKey: body.SecretAccessKey!,
      sessionToken: body.Token!,
    }).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toMatch(
      /^arn:aws:sts::123456789012:assumed-role\/ecr-webhook\/eks-test-cluster-ecr-webhook-/,
    );

    const plain = "text/plain; charset=utf-8";
    expect(await get()).toEqual({
      status: 400,
      type: plain,
      text: "Service account token cannot be empty\n",
    });
    expect(await get("garbage")).toMatchObject({
      status: 400,
      text: expect.stringMatching(/^Service account token cannot be parsed: /),
    });
    const stranger = serviceAccountToken({ iss: ISSUER, sub: "system:serviceaccount:default:intruder" });
    expect(await get(stranger)).toMatchObject({
      status: 400,
      type: plain,
      text: expect.stringMatching(/^\[[0-9a-f-]{36}\]: \(InvalidTokenException\): .*, fault: client\n$/),
    });
    expect(await get(token, agent.url.replace("/v1/credentials", "/v1/other"))).toMatchObject({
      status: 404,
    });
  });
});

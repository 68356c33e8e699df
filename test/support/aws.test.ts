import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startAwsStandIn, type AwsStandIn } from "./aws/index.js";

process.env.AWS_EC2_METADATA_DISABLED = "true";

const credentials = { accessKeyId: "AKIDTESTTESTTESTTEST", secretAccessKey: "test-secret-key-not-real" };
const ACCOUNT = "111122223333";
const ROLE_ARN = "arn:aws:iam::444455556666:role/ecr-puller";
const GUARDED_ROLE_ARN = "arn:aws:iam::777788889999:role/team/guarded";
const HOUR = 3_600_000;

let aws: AwsStandIn;
let clock = Date.UTC(2030, 0, 1, 0, 0, 0);
const clients: Array<{ destroy(): void }> = [];

function ecr(opts: { region?: string; maxAttempts?: number; creds?: typeof credentials } = {}): ECRClient {
  const client = new ECRClient({
    region: opts.region ?? "eu-west-1",
    credentials: opts.creds ?? credentials,
    endpoint: aws.url,
    maxAttempts: opts.maxAttempts ?? 1,
  });
  clients.push(client);
  return client;
}

function sts(region = "eu-west-1"): STSClient {
  const client = new STSClient({ region, credentials, endpoint: aws.url, maxAttempts: 1 });
  clients.push(client);
  return client;
}

function decode(token: string | undefined): string {
  return Buffer.from(token ?? "", "base64").toString("utf8");
}

beforeAll(async () => {
  aws = await startAwsStandIn({
    account: ACCOUNT,
    now: () => clock,
    roles: { [GUARDED_ROLE_ARN]: { externalId: "ext-123" } },
  });
});

afterEach(() => {
  aws.reset();
  for (const c of clients.splice(0)) c.destroy();
});

afterAll(async () => {
  await aws.close();
});

describe("AWS stand-in: ECR GetAuthorizationToken", () => {
  it("returns a unique AWS:<password> token expiring 12h after the stand-in clock", async () => {
    clock = Date.UTC(2030, 0, 1, 0, 0, 0);
    const client = ecr();
    const first = await client.send(new GetAuthorizationTokenCommand({}));
    const second = await client.send(new GetAuthorizationTokenCommand({}));
    const data = first.authorizationData?.[0];

    const decoded = decode(data?.authorizationToken);
    expect(decoded).toMatch(/^AWS:[A-Za-z0-9+/=]{1000,}$/);
    expect(decoded.slice(4)).toBe(aws.tokens[0]?.password);
    expect(decode(second.authorizationData?.[0]?.authorizationToken)).not.toBe(decoded);

    expect(data?.expiresAt).toBeInstanceOf(Date);
    expect(data?.expiresAt?.getTime()).toBe(clock + 12 * HOUR);
    expect(data?.proxyEndpoint).toBe(`https://${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`);
  });

  it("takes the region from the SigV4 scope and records the call", async () => {
    const out = await ecr({ region: "ap-southeast-2" }).send(new GetAuthorizationTokenCommand({}));
    expect(out.authorizationData?.[0]?.proxyEndpoint).toBe(
      `https://${ACCOUNT}.dkr.ecr.ap-southeast-2.amazonaws.com`,
    );
    expect(aws.calls).toEqual([
      {
        service: "ecr",
        action: "GetAuthorizationToken",
        region: "ap-southeast-2",
        accessKeyId: credentials.accessKeyId,
        account: ACCOUNT,
        at: clock,
        params: {},
        status: 200,
      },
    ]);
    expect(aws.count({ service: "ecr", region: "ap-southeast-2" })).toBe(1);
    expect(aws.count({ service: "sts" })).toBe(0);
  });

  it("is reachable through AWS_ENDPOINT_URL_ECR without an endpoint option", async () => {
    const saved = process.env.AWS_ENDPOINT_URL_ECR;
    process.env.AWS_ENDPOINT_URL_ECR = aws.endpointEnv().AWS_ENDPOINT_URL_ECR;
    try {
      const client = new ECRClient({ region: "us-west-2", credentials, maxAttempts: 1 });
      clients.push(client);
      const out = await client.send(new GetAuthorizationTokenCommand({}));
      expect(out.authorizationData?.[0]?.proxyEndpoint).toBe(
        `https://${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com`,
      );
      expect(aws.count({ action: "GetAuthorizationToken", region: "us-west-2" })).toBe(1);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_ECR;
      else process.env.AWS_ENDPOINT_URL_ECR = saved;
    }
  });
});

describe("AWS stand-in: STS AssumeRole", () => {
  it("issues role credentials that ECR maps to the role's account", async () => {
    const out = await sts().send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "webhook" }));
    const c = out.Credentials!;
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(c.SecretAccessKey).toBeTruthy();
    expect(c.SessionToken).toBeTruthy();
    expect(c.Expiration?.getTime()).toBe(clock + HOUR);
    expect(out.AssumedRoleUser?.Arn).toBe("arn:aws:sts::444455556666:assumed-role/ecr-puller/webhook");

    const roleCreds = {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    };
    const token = await ecr({ creds: roleCreds }).send(new GetAuthorizationTokenCommand({}));
    expect(token.authorizationData?.[0]?.proxyEndpoint).toBe(
      "https://444455556666.dkr.ecr.eu-west-1.amazonaws.com",
    );
    expect(aws.count({ service: "ecr", accessKeyId: c.AccessKeyId, account: "444455556666" })).toBe(1);
    expect(aws.count({ service: "sts", action: "AssumeRole", account: ACCOUNT })).toBe(1);
    expect(aws.calls[0]?.params).toMatchObject({ RoleArn: ROLE_ARN, RoleSessionName: "webhook" });

    const who = new STSClient({
      region: "eu-west-1",
      credentials: roleCreds,
      endpoint: aws.url,
      maxAttempts: 1,
    });
    clients.push(who);
    expect((await who.send(new GetCallerIdentityCommand({}))).Account).toBe("444455556666");
  });

  it("rejects role credentials without their session token", async () => {
    const out = await sts().send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "webhook" }));
    const creds = {
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
    };
    await expect(ecr({ creds }).send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
      name: "UnrecognizedClientException",
    });
  });

  it("role credentials expire with the stand-in clock", async () => {
    const out = await sts().send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "webhook" }));
    const c = out.Credentials!;
    clock += HOUR;
    const creds = {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    };
    await expect(ecr({ creds }).send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
      name: "ExpiredTokenException",
    });
  });

  it("requires the configured ExternalId", async () => {
    const client = sts();
    const missing = client.send(new AssumeRoleCommand({ RoleArn: GUARDED_ROLE_ARN, RoleSessionName: "s1" }));
    await expect(missing).rejects.toMatchObject({
      name: "AccessDenied",
      $metadata: { httpStatusCode: 403 },
      message: expect.stringContaining(
        `not authorized to perform: sts:AssumeRole on resource: ${GUARDED_ROLE_ARN}`,
      ),
    });
    const wrong = client.send(
      new AssumeRoleCommand({ RoleArn: GUARDED_ROLE_ARN, RoleSessionName: "s1", ExternalId: "nope-456" }),
    );
    await expect(wrong).rejects.toMatchObject({ name: "AccessDenied" });
    const ok = await client.send(
      new AssumeRoleCommand({ RoleArn: GUARDED_ROLE_ARN, RoleSessionName: "s1", ExternalId: "ext-123" }),
    );
    expect(ok.AssumedRoleUser?.Arn).toBe("arn:aws:sts::777788889999:assumed-role/guarded/s1");
    expect(aws.count({ action: "AssumeRole", error: "AccessDenied" })).toBe(2);
  });

  it("validates the RoleArn", async () => {
    const bad = sts().send(
      new AssumeRoleCommand({ RoleArn: "arn:aws:iam::12345:user/x", RoleSessionName: "s1" }),
    );
    await expect(bad).rejects.toMatchObject({ name: "ValidationError", $metadata: { httpStatusCode: 400 } });
  });
});

describe("AWS stand-in: authentication", () => {
  it("rejects unsigned requests", async () => {
    const ecrRes = await fetch(aws.url, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
      },
      body: "{}",
    });
    expect(ecrRes.status).toBe(400);
    expect(await ecrRes.json()).toMatchObject({ __type: "MissingAuthenticationTokenException" });

    const stsRes = await fetch(aws.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `Action=AssumeRole&Version=2011-06-15&RoleArn=${encodeURIComponent(ROLE_ARN)}&RoleSessionName=x`,
    });
    expect(stsRes.status).toBe(403);
    expect(await stsRes.text()).toContain("<Code>MissingAuthenticationToken</Code>");
    expect(aws.count({ account: undefined })).toBe(2);
    expect(aws.tokens).toHaveLength(0);
  });

  it("rejects a wrong secret and an unknown key", async () => {
    const wrongSecret = { ...credentials, secretAccessKey: "not-the-secret" };
    await expect(
      ecr({ creds: wrongSecret }).send(new GetAuthorizationTokenCommand({})),
    ).rejects.toMatchObject({
      name: "InvalidSignatureException",
      $metadata: { httpStatusCode: 400 },
    });
    const unknown = { accessKeyId: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: "x" };
    await expect(ecr({ creds: unknown }).send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
      name: "UnrecognizedClientException",
    });
    const stsWrong = new STSClient({
      region: "us-east-1",
      credentials: wrongSecret,
      endpoint: aws.url,
      maxAttempts: 1,
    });
    clients.push(stsWrong);
    await expect(
      stsWrong.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "s1" })),
    ).rejects.toMatchObject({ name: "SignatureDoesNotMatch", $metadata: { httpStatusCode: 403 } });
    expect(aws.tokens).toHaveLength(0);
    expect(aws.count({ error: "InvalidSignatureException", accessKeyId: credentials.accessKeyId })).toBe(1);
  });

  it("rejects a tampered body", async () => {
    const client = ecr();
    client.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { body?: unknown };
        req.body = "[]"; // same length as the signed "{}", so only the signature can notice

        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "tamper" },
    );
    // Runs after signing (low priority in finalizeRequest); had it run before, the stand-in would
    // have answered SerializationException for the "[]" body instead.
    await expect(client.send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
      name: "InvalidSignatureException",
    });
  });
});

describe("AWS stand-in: faults", () => {
  it("throttling surfaces with maxAttempts 1", async () => {
    aws.throttleNext("GetAuthorizationToken", 1);
    await expect(ecr().send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
      name: "ThrottlingException",
      message: "Rate exceeded",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(ecr().send(new GetAuthorizationTokenCommand({}))).resolves.toBeDefined();
  });

  it("throttling is retried away by the SDK's default retry strategy", async () => {
    aws.throttleNext("GetAuthorizationToken", 2);
    const client = new ECRClient({ region: "eu-west-1", credentials, endpoint: aws.url });
    clients.push(client);
    const out = await client.send(new GetAuthorizationTokenCommand({}));
    expect(out.$metadata.attempts).toBe(3);
    expect(aws.count({ action: "GetAuthorizationToken", error: "ThrottlingException" })).toBe(2);
    expect(aws.count({ action: "GetAuthorizationToken", status: 200 })).toBe(1);
  });

  it("STS throttling and server failures have the STS error shape", async () => {
    aws.throttleNext("AssumeRole");
    await expect(
      sts().send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "s1" })),
    ).rejects.toMatchObject({ name: "Throttling", $metadata: { httpStatusCode: 400 } });
    aws.failNext("AssumeRole", 1, 503);
    await expect(
      sts().send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "s1" })),
    ).rejects.toMatchObject({ name: "ServiceUnavailable", $metadata: { httpStatusCode: 503 } });
  });

  it("failNext answers ServerException", async () => {
    aws.failNext("GetAuthorizationToken", 1);
    await expect(ecr().send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
      name: "ServerException",
      $metadata: { httpStatusCode: 500 },
    });
  });

  it("hang holds the request until the client aborts", async () => {
    aws.hang("GetAuthorizationToken", true);
    const started = Date.now();
    const pending = ecr().send(new GetAuthorizationTokenCommand({}), {
      abortSignal: AbortSignal.timeout(300),
    });
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await expect.poll(() => aws.hanging()).toBe(0);
    expect(aws.calls[0]?.status).toBeUndefined();
  });

  it("hang + requestTimeout times out; releasing lets a held request complete", async () => {
    aws.hang("GetAuthorizationToken", true);
    const timed = new ECRClient({
      region: "eu-west-1",
      credentials,
      endpoint: aws.url,
      maxAttempts: 1,
      // This SDK only warns on requestTimeout unless told to throw.
      requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
    });
    clients.push(timed);
    await expect(timed.send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
      name: "TimeoutError",
    });
    // The stand-in notices the dropped connection and forgets that request.
    await expect.poll(() => aws.hanging()).toBe(0);

    const held = ecr().send(new GetAuthorizationTokenCommand({}));
    await expect.poll(() => aws.hanging("GetAuthorizationToken")).toBe(1);
    aws.hang("GetAuthorizationToken", false);
    await expect(held).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
  });

  it("latency delays answers", async () => {
    aws.setLatency(150);
    const started = Date.now();
    await ecr().send(new GetAuthorizationTokenCommand({}));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("close() drops hung requests", async () => {
    const other = await startAwsStandIn();
    other.hang("GetAuthorizationToken", true);
    const client = new ECRClient({ region: "eu-west-1", credentials, endpoint: other.url, maxAttempts: 1 });
    clients.push(client);
    const pending = client.send(new GetAuthorizationTokenCommand({}));
    await expect.poll(() => other.hanging()).toBe(1);
    await other.close();
    await expect(pending).rejects.toThrow();
  });
});

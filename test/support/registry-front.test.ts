/**
 * The end-to-end suite's registry front without a node: what it accepts, refuses and logs, the
 * hosts.toml it hands containerd, and that no password reaches its log.
 */
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { ECRPUBLICClient, GetAuthorizationTokenCommand as GetPublicToken } from "@aws-sdk/client-ecr-public";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { request } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { featureGatesFrom } from "../e2e/support/node/node.js";
import {
  ECR_PUBLIC_HOST,
  startRegistryFront,
  type RegistryFront,
} from "../e2e/support/node/registry-front.js";
import { parsePulled } from "../e2e/support/node/timings.js";
import { startAwsStandIn, type AwsStandIn } from "./aws/index.js";

const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const WEST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const credentials = { accessKeyId: "AKIDTESTTESTTESTTEST", secretAccessKey: "test-secret-key-not-real" };

let clock = Date.now();
let aws: AwsStandIn;
let backend: Server;
let backendHits: string[];
let front: RegistryFront;
let certsDir: string;

/** A GET through the front as containerd would make it: to the port hosts.toml names, with its CA. */
function pull(host: string, path: string, password?: string): Promise<number> {
  const hosts = readFileSync(join(certsDir, host, "hosts.toml"), "utf8");
  const server = /^server = "(.+)"$/m.exec(hosts)![1]!;
  const ca = readFileSync(/ca = "(.+)"/.exec(hosts)![1]!, "utf8");
  const auth =
    password === undefined
      ? {}
      : { authorization: `Basic ${Buffer.from(`AWS:${password}`).toString("base64")}` };
  return new Promise((resolve, reject) => {
    const req = request(`${server}${path}`, { ca, headers: auth }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

async function token(region: string): Promise<string> {
  const client = new ECRClient({ region, credentials, endpoint: aws.url, maxAttempts: 1 });
  const out = await client.send(new GetAuthorizationTokenCommand({}));
  client.destroy();
  return Buffer.from(out.authorizationData![0]!.authorizationToken!, "base64").toString("utf8").slice(4);
}

beforeAll(async () => {
  aws = await startAwsStandIn({ tokenTtlMs: 60_000, now: () => clock });
  backendHits = [];
  backend = createServer((req, res) => {
    backendHits.push(`${req.url} ${req.headers.authorization ?? "-"}`);
    res.end("{}");
  });
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
  certsDir = mkdtempSync(join(tmpdir(), "ecr-webhook-front-"));
  front = await startRegistryFront({
    aws,
    hosts: [EAST, WEST, ECR_PUBLIC_HOST],
    backend: `http://127.0.0.1:${(backend.address() as AddressInfo).port}`,
    certsDir,
    now: () => clock,
  });
});

afterAll(async () => {
  await front?.close();
  await new Promise((resolve) => backend?.close(resolve));
  await aws?.close();
  rmSync(certsDir, { recursive: true, force: true });
});

describe("the registry front", () => {
  it("accepts a live token of the host's region and passes the request on, without the login", async () => {
    const password = await token("us-east-1");
    expect(await pull(EAST, "/v2/case-a/web/app/manifests/1", password)).toBe(200);
    expect(backendHits.at(-1)).toBe("/v2/e2e/app/manifests/1 -");
    expect(front.of("case-a/web")).toMatchObject([{ outcome: "accepted", token: 1, host: EAST }]);
  });

  it("challenges a request without credentials, as ECR does", async () => {
    const before = backendHits.length;
    expect(await pull(EAST, "/v2/case-b/app/manifests/1")).toBe(401);
    expect(front.of("case-b")).toMatchObject([{ outcome: "challenged", reason: "no credentials" }]);
    expect(backendHits.length).toBe(before);
  });

  it("refuses another region's token, an unknown password, an expired token, and everything when told to", async () => {
    const east = await token("us-east-1");
    expect(await pull(WEST, "/v2/case-c/app/manifests/1", east)).toBe(401);
    expect(await pull(EAST, "/v2/case-c/app/manifests/1", "not-a-token")).toBe(401);
    front.refuseAll(true);
    expect(await pull(EAST, "/v2/case-c/app/manifests/1", east)).toBe(401);
    front.refuseAll(false);
    clock += 61_000;
    expect(await pull(EAST, "/v2/case-c/app/manifests/1", east)).toBe(401);
    expect(front.of("case-c").map((r) => r.reason)).toEqual([
      "a token for us-east-1",
      "not a token ECR issued",
      "refused by the registry",
      "expired",
    ]);
    expect(front.verdict(EAST, east)).toMatchObject({ outcome: "refused", reason: "expired" });
  });

  it("takes ECR Public's token for public.ecr.aws only", async () => {
    const client = new ECRPUBLICClient({
      region: "us-east-1",
      credentials,
      endpoint: aws.url,
      maxAttempts: 1,
    });
    const out = await client.send(new GetPublicToken({}));
    client.destroy();
    const password = Buffer.from(out.authorizationData!.authorizationToken!, "base64")
      .toString("utf8")
      .slice(4);
    expect(await pull(ECR_PUBLIC_HOST, "/v2/alias/case-d/app/manifests/1", password)).toBe(200);
    expect(await pull(EAST, "/v2/case-d/app/manifests/1", password)).toBe(401);
  });

  it("logs token numbers and short hashes, never a password", () => {
    const log = JSON.stringify(front.log);
    for (const issued of aws.tokens) expect(log).not.toContain(issued.password);
    expect(log).not.toContain("not-a-token");
    expect(front.log.find((r) => r.reason === "not a token ECR issued")?.fingerprint).toMatch(
      /^[0-9a-f]{12}$/,
    );
  });

  it("hands containerd a hosts.toml per host that never falls back to the real registry", () => {
    const hosts = readFileSync(join(certsDir, EAST, "hosts.toml"), "utf8");
    expect(hosts).toMatch(/^server = "https:\/\/127\.0\.0\.1:\d+"$/m);
    expect(hosts).toMatch(/^\[host\."https:\/\/127\.0\.0\.1:\d+"\]$/m);
    expect(hosts).not.toContain("amazonaws.com");
  });
});

describe("node helpers", () => {
  it("reads the kubelet's pull Events", () => {
    expect(
      parsePulled(
        'Pulled: Successfully pulled image "h/x/app:1" in 127ms (1.5s including waiting). Image size: 1 bytes.',
      ),
    ).toEqual({
      image: "h/x/app:1",
      ms: 127,
      waitingMs: 1500,
    });
    expect(parsePulled("Pulled: Container image already present on machine")).toBeUndefined();
  });

  it("reads kubelet feature gates from the environment's form", () => {
    expect(featureGatesFrom("KubeletEnsureSecretPulledImages=false, Other=true,bad")).toEqual({
      KubeletEnsureSecretPulledImages: false,
      Other: true,
    });
    expect(featureGatesFrom(undefined)).toEqual({});
  });
});

/** ECR (awsJson1_1) actions. */
import { randomBytes } from "node:crypto";
import { ecrError, ecrOk, type Reply } from "./reply.js";
import type { AwsIdentity, IssuedEcrToken } from "./types.js";

const ECR_PUBLIC_REGION = "us-east-1";

export interface EcrContext {
  identity: AwsIdentity;
  region: string;
  nowMs: number;
  tokenTtlMs: number;
  onToken: (token: IssuedEcrToken) => void;
}

export function proxyEndpoint(account: string, region: string): string {
  const suffix = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://${account}.dkr.ecr.${region}.${suffix}`;
}

/** Something shaped like a real ECR password: base64 of a JSON envelope, ~1.8k chars, unique per call. */
function fakePassword(expiresAtMs: number): string {
  const envelope = {
    payload: randomBytes(768).toString("base64"),
    datakey: randomBytes(192).toString("base64"),
    version: "2",
    type: "DATA_KEY",
    expiration: Math.floor(expiresAtMs / 1000),
  };
  return Buffer.from(JSON.stringify(envelope)).toString("base64");
}

function getAuthorizationToken(params: Record<string, unknown>, ctx: EcrContext): Reply {
  const { registryIds } = params;
  if (registryIds !== undefined) {
    const valid =
      Array.isArray(registryIds) &&
      registryIds.length >= 1 &&
      registryIds.length <= 10 &&
      registryIds.every((id) => typeof id === "string" && /^\d{12}$/.test(id));
    if (!valid) {
      return ecrError(
        400,
        "InvalidParameterException",
        "Invalid parameter at 'registryIds' failed to satisfy constraint",
      );
    }
  }
  const accounts = (registryIds as string[] | undefined) ?? [ctx.identity.account];
  const expiresAt = ctx.nowMs + ctx.tokenTtlMs;
  const authorizationData = accounts.map((account) => {
    const password = fakePassword(expiresAt);
    const endpoint = proxyEndpoint(account, ctx.region);
    ctx.onToken({
      account,
      region: ctx.region,
      password,
      expiresAt,
      proxyEndpoint: endpoint,
      accessKeyId: ctx.identity.accessKeyId,
    });
    return {
      authorizationToken: Buffer.from(`AWS:${password}`).toString("base64"),
      expiresAt: expiresAt / 1000,
      proxyEndpoint: endpoint,
    };
  });
  return ecrOk({ authorizationData });
}

export function parseEcrBody(body: Buffer): Record<string, unknown> | undefined {
  if (body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** ECR Public answers in us-east-1 only; its token is one object, not a list, without an endpoint. */
function getPublicAuthorizationToken(ctx: EcrContext): Reply {
  if (ctx.region !== ECR_PUBLIC_REGION) {
    return ecrError(400, "UnsupportedCommandException", "The action is not supported in this Region.");
  }
  const expiresAt = ctx.nowMs + ctx.tokenTtlMs;
  const password = fakePassword(expiresAt);
  ctx.onToken({
    account: ctx.identity.account,
    region: ctx.region,
    password,
    expiresAt,
    proxyEndpoint: "https://public.ecr.aws",
    accessKeyId: ctx.identity.accessKeyId,
    public: true,
  });
  return ecrOk({
    authorizationData: {
      authorizationToken: Buffer.from(`AWS:${password}`).toString("base64"),
      expiresAt: expiresAt / 1000,
    },
  });
}

export function handleEcrPublic(action: string, ctx: EcrContext): Reply {
  return action === "GetAuthorizationToken"
    ? getPublicAuthorizationToken(ctx)
    : ecrError(400, "UnknownOperationException", `The stand-in does not implement ECR Public ${action}`);
}

export function handleEcr(action: string, params: Record<string, unknown>, ctx: EcrContext): Reply {
  switch (action) {
    case "GetAuthorizationToken":
      return getAuthorizationToken(params, ctx);
    default:
      return ecrError(400, "UnknownOperationException", `The stand-in does not implement ECR ${action}`);
  }
}

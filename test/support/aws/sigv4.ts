/**
 * Server-side SigV4 verification: recomputes the signature of the received request with
 * @smithy/signature-v4 (the SDK's own signer) and the secret the stand-in knows for the access key.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsIdentity } from "./types.js";

export interface SigV4Scope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export interface ReceivedRequest {
  method: string;
  /** path + query as received */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type AuthFailure = "Missing" | "Incomplete" | "UnknownKey" | "BadSignature" | "Expired";

export type AuthResult =
  | { ok: true; identity: AwsIdentity; scope: SigV4Scope }
  | { ok: false; failure: AuthFailure; message: string };

const ALGORITHM = "AWS4-HMAC-SHA256";

const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
};

/** Parses `AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/ecr/aws4_request, SignedHeaders=a;b, Signature=hex`. */
export function parseAuthorization(value: string | undefined): SigV4Scope | undefined {
  if (!value?.startsWith(`${ALGORITHM} `)) return undefined;
  const parts = new Map<string, string>();
  for (const piece of value.slice(ALGORITHM.length + 1).split(",")) {
    const eq = piece.indexOf("=");
    if (eq > 0) parts.set(piece.slice(0, eq).trim(), piece.slice(eq + 1).trim());
  }
  const credential = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(parts.get("Credential") ?? "");
  const signedHeaders = parts.get("SignedHeaders") ?? "";
  const signature = parts.get("Signature") ?? "";
  if (!credential || !/^[a-z0-9-]+(;[a-z0-9-]+)*$/.test(signedHeaders) || !/^[0-9a-f]{64}$/.test(signature)) {
    return undefined;
  }
  const [, accessKeyId, date, region, service] = credential as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(";"), signature };
}

/** `20240101T120000Z` → Date */
function parseAmzDate(value: string | undefined): Date | undefined {
  const m = value && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

function splitUrl(url: string): { path: string; query: Record<string, string | string[]> } {
  const parsed = new URL(url, "http://stand-in.invalid");
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of parsed.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  return { path: parsed.pathname, query };
}

const sameText = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

const fail = (failure: AuthFailure, message: string): AuthResult => ({ ok: false, failure, message });

const SIGNATURE_MISMATCH =
  "The request signature we calculated does not match the signature you provided. " +
  "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/** Checks everything except the signature itself; returns the identity to verify against. */
function precheck(
  req: ReceivedRequest,
  lookup: (accessKeyId: string) => AwsIdentity | undefined,
  expectedService: string,
  nowMs: number,
): { scope: SigV4Scope; identity: AwsIdentity; date: Date } | AuthResult {
  const header = headerValue(req.headers, "authorization");
  if (!header) return fail("Missing", "Missing Authentication Token");
  const scope = parseAuthorization(header);
  if (!scope) return fail("Incomplete", `Authorization header requires well-formed ${ALGORITHM} components.`);
  const date = parseAmzDate(headerValue(req.headers, "x-amz-date"));
  if (!date) return fail("Incomplete", "Authorization header requires existence of a 'X-Amz-Date' header.");
  if (scope.service !== expectedService) {
    return fail("BadSignature", `Credential should be scoped to correct service: '${expectedService}'.`);
  }
  const identity = lookup(scope.accessKeyId);
  const token = headerValue(req.headers, "x-amz-security-token");
  if (!identity || token !== identity.sessionToken) {
    return fail("UnknownKey", "The security token included in the request is invalid.");
  }
  if (identity.expiresAt !== undefined && nowMs >= identity.expiresAt) {
    return fail("Expired", "The security token included in the request is expired");
  }
  const declared = headerValue(req.headers, "x-amz-content-sha256");
  if (declared !== undefined && declared !== createHash("sha256").update(req.body).digest("hex")) {
    return fail("BadSignature", SIGNATURE_MISMATCH);
  }
  return { scope, identity, date };
}

/** Full SigV4 verification of a received request. */
export async function verifySigV4(
  req: ReceivedRequest,
  lookup: (accessKeyId: string) => AwsIdentity | undefined,
  expectedService: string,
  nowMs: number,
): Promise<AuthResult> {
  const pre = precheck(req, lookup, expectedService, nowMs);
  if ("ok" in pre) return pre;
  const { scope, identity, date } = pre;

  // Rebuild the request exactly as signed: only the headers listed in SignedHeaders.
  const headers: Record<string, string> = {};
  for (const name of scope.signedHeaders) {
    const v = headerValue(req.headers, name);
    if (v !== undefined) headers[name] = v;
  }
  const { path, query } = splitUrl(req.url);
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: identity.accessKeyId,
      secretAccessKey: identity.secretAccessKey,
      ...(identity.sessionToken ? { sessionToken: identity.sessionToken } : {}),
    },
    region: scope.region,
    service: expectedService,
    sha256: Hash.bind(null, "sha256"),
  });
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: "http:",
      hostname: headers.host?.split(":")[0] ?? "127.0.0.1",
      path,
      query,
      headers,
      body: req.body.length > 0 ? req.body : undefined,
    },
    {
      signingDate: date,
      signingRegion: scope.region,
      signingService: expectedService,
      signableHeaders: new Set(scope.signedHeaders),
    },
  );
  const expected = parseAuthorization(signed.headers.authorization);
  const ok =
    expected !== undefined &&
    expected.date === scope.date &&
    expected.signedHeaders.join(";") === scope.signedHeaders.join(";") &&
    sameText(expected.signature, scope.signature);
  return ok ? { ok: true, identity, scope } : fail("BadSignature", SIGNATURE_MISMATCH);
}

/** STS (awsQuery, XML answers) actions. */
import { type IdentityStore, parseRoleArn } from "./identities.js";
import { type Reply, stsError, stsOk } from "./reply.js";
import type { AwsIdentity, AwsRoleConfig } from "./types.js";

export interface StsContext {
  identity: AwsIdentity;
  nowMs: number;
  store: IdentityStore;
  roleConfig: (roleArn: string) => AwsRoleConfig | undefined;
  allowUnknownRoles: boolean;
}

const NAME = /^[\w+=,.@-]+$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]+$/;
const DEFAULT_MAX_SESSION = 3600;

const validation = (message: string): Reply => stsError(400, "ValidationError", message);

function notNull(field: string): Reply {
  return validation(
    `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
  );
}

/** The `DurationSeconds` asked for, or a ValidationError. */
function sessionSeconds(raw: string | undefined, config: AwsRoleConfig | undefined): number | Reply {
  if (raw === undefined) return 3600;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 900 || seconds > 43200) {
    return validation(
      `1 validation error detected: Value '${raw}' at 'durationSeconds' failed to satisfy constraint: ` +
        "Member must have value between 900 and 43200",
    );
  }
  if (seconds > (config?.maxSessionDurationSeconds ?? DEFAULT_MAX_SESSION)) {
    return validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  }
  return seconds;
}

/**
 * The role session an AssumeRole* call asks for (RoleArn, RoleSessionName, DurationSeconds), and
 * its Credentials element; or the ValidationError its duration earns.
 */
function issueSession(
  ctx: Pick<StsContext, "nowMs" | "store">,
  params: Readonly<Record<string, string>>,
  config: AwsRoleConfig | undefined,
  how: Parameters<IdentityStore["issueRoleSession"]>[3],
): { issued: AwsIdentity; credentials: Record<string, string | undefined> } | Reply {
  const seconds = sessionSeconds(params.DurationSeconds, config);
  if (typeof seconds !== "number") return seconds;
  const expiresAt = ctx.nowMs + seconds * 1000;
  const issued = ctx.store.issueRoleSession(params.RoleArn!, params.RoleSessionName!, expiresAt, how);
  const credentials = {
    AccessKeyId: issued.accessKeyId,
    SecretAccessKey: issued.secretAccessKey,
    SessionToken: issued.sessionToken,
    Expiration: new Date(expiresAt).toISOString(),
  };
  return { issued, credentials };
}

function validateAssumeRole(params: Readonly<Record<string, string | undefined>>): Reply | undefined {
  const { RoleArn: roleArn, RoleSessionName: sessionName, ExternalId: externalId } = params;
  if (roleArn === undefined) return notNull("roleArn");
  if (sessionName === undefined) return notNull("roleSessionName");
  if (!parseRoleArn(roleArn)) return validation(`${roleArn} is invalid`);
  if (sessionName.length < 2 || sessionName.length > 64 || !NAME.test(sessionName)) {
    return validation(
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: ` +
        "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    );
  }
  if (
    externalId !== undefined &&
    (externalId.length < 2 || externalId.length > 1224 || !EXTERNAL_ID.test(externalId))
  ) {
    return validation(
      `1 validation error detected: Value '${externalId}' at 'externalId' failed to satisfy constraint: ` +
        "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*",
    );
  }
  return undefined;
}

function assumeRole(params: Record<string, string>, ctx: StsContext): Reply {
  const invalid = validateAssumeRole(params);
  if (invalid) return invalid;
  const roleArn = params.RoleArn!;
  const config = ctx.roleConfig(roleArn);
  const trusted =
    (config !== undefined || ctx.allowUnknownRoles) &&
    (config?.externalId === undefined || config.externalId === params.ExternalId);
  if (!trusted) {
    return stsError(
      403,
      "AccessDenied",
      `User: ${ctx.identity.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    );
  }
  const session = issueSession(ctx, params, config, {
    via: "AssumeRole",
    sourceAccessKeyId: ctx.identity.accessKeyId,
  });
  if ("status" in session) return session;
  const { issued, credentials } = session;
  return stsOk("AssumeRole", {
    Credentials: credentials,
    AssumedRoleUser: { AssumedRoleId: issued.userId, Arn: issued.arn },
    SourceIdentity: params.SourceIdentity,
  });
}

function getCallerIdentity(ctx: StsContext): Reply {
  const { identity } = ctx;
  return stsOk("GetCallerIdentity", {
    UserId: identity.userId,
    Account: identity.account,
    Arn: identity.arn,
  });
}

/** Decodes an `application/x-www-form-urlencoded` awsQuery body (or GET query string). */
export function parseQueryParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  return out;
}

export function handleSts(action: string, params: Record<string, string>, ctx: StsContext): Reply {
  switch (action) {
    case "AssumeRole":
      return assumeRole(params, ctx);
    case "GetCallerIdentity":
      return getCallerIdentity(ctx);
    default:
      return stsError(400, "InvalidAction", `Could not find operation ${action} for version 2011-06-15`);
  }
}

/** STS actions called without a signature: the token in the request is the credential. */
export const UNSIGNED_STS_ACTIONS: ReadonlySet<string> = new Set(["AssumeRoleWithWebIdentity"]);

export interface UnsignedStsContext {
  nowMs: number;
  store: IdentityStore;
  roleConfig: (roleArn: string) => AwsRoleConfig | undefined;
  /** Every configured role: an account's IAM OIDC providers are the issuers its roles trust. */
  roleConfigs: () => Iterable<[string, AwsRoleConfig]>;
}

/** The claims STS reads from an OIDC ID token. */
export interface WebIdentityClaims {
  iss: string;
  sub: string;
  aud: string[];
  /** NumericDate (seconds), when present. */
  exp: number | undefined;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** The claims of a JWT (header.payload.signature, base64url), or undefined; the signature is not checked. */
export function webIdentityClaims(token: string): WebIdentityClaims | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8"));
    const body: unknown = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
    if (typeof header !== "object" || header === null || typeof body !== "object" || body === null) {
      return undefined;
    }
    const { iss, sub, aud, exp } = body as Record<string, unknown>;
    const audiences = typeof aud === "string" ? [aud] : aud;
    if (typeof iss !== "string" || typeof sub !== "string") return undefined;
    if (!Array.isArray(audiences) || !audiences.every((a) => typeof a === "string")) return undefined;
    if (exp !== undefined && typeof exp !== "number") return undefined;
    return { iss, sub, aud: audiences, exp };
  } catch {
    return undefined;
  }
}

// The API reference's description of InvalidIdentityToken, for a token that is not a JWT at all.
const NOT_VALIDATED =
  "The web identity token that was passed could not be validated by AWS. " +
  "Get a new identity token from the identity provider and then retry the request.";

/**
 * AssumeRoleWithWebIdentity as STS checks it: the token's issuer must be an IAM OIDC provider of the
 * role's account, its audience one of that provider's client IDs, it must not have expired, and the
 * role's trust policy must name that provider (and the subject, when it restricts subjects).
 */
function assumeRoleWithWebIdentity(params: Record<string, string>, ctx: UnsignedStsContext): Reply {
  const invalid = validateAssumeRole({ RoleArn: params.RoleArn, RoleSessionName: params.RoleSessionName });
  if (invalid) return invalid;
  const token = params.WebIdentityToken;
  if (token === undefined) return notNull("webIdentityToken");
  const roleArn = params.RoleArn!;
  const claims = webIdentityClaims(token);
  if (!claims) return stsError(400, "InvalidIdentityToken", NOT_VALIDATED);
  const account = parseRoleArn(roleArn)!.account;
  const providers = [...ctx.roleConfigs()]
    .filter(([arn, c]) => c.webIdentity?.issuer === claims.iss && parseRoleArn(arn)?.account === account)
    .map(([, c]) => c.webIdentity!);
  if (providers.length === 0) {
    return stsError(
      400,
      "InvalidIdentityToken",
      `No OpenIDConnect provider found in your account for ${claims.iss}`,
    );
  }
  const clientIds = new Set(providers.flatMap((p) => p.audiences ?? ["sts.amazonaws.com"]));
  const audience = claims.aud.find((a) => clientIds.has(a));
  if (audience === undefined) return stsError(400, "InvalidIdentityToken", "Incorrect token audience");
  const nowSeconds = Math.floor(ctx.nowMs / 1000);
  if (claims.exp !== undefined && claims.exp <= nowSeconds) {
    return stsError(
      400,
      "ExpiredTokenException",
      `Token expired: current date/time ${nowSeconds} must be before the expiration date/time ${claims.exp}`,
    );
  }
  const config = ctx.roleConfig(roleArn);
  const trust = config?.webIdentity;
  if (trust?.issuer !== claims.iss || (trust.subjects && !trust.subjects.includes(claims.sub))) {
    return stsError(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
  }
  const session = issueSession(ctx, params, config, {
    via: "AssumeRoleWithWebIdentity",
    subject: claims.sub,
  });
  if ("status" in session) return session;
  const { issued, credentials } = session;
  // Elements in the order of the API reference; Provider is the token's `iss` for OIDC ID tokens.
  return stsOk("AssumeRoleWithWebIdentity", {
    Credentials: credentials,
    SubjectFromWebIdentityToken: claims.sub,
    AssumedRoleUser: { AssumedRoleId: issued.userId, Arn: issued.arn },
    Provider: claims.iss,
    Audience: audience,
  });
}

export function handleUnsignedSts(
  action: string,
  params: Record<string, string>,
  ctx: UnsignedStsContext,
): Reply {
  switch (action) {
    case "AssumeRoleWithWebIdentity":
      return assumeRoleWithWebIdentity(params, ctx);
    default:
      return stsError(400, "InvalidAction", `Could not find operation ${action} for version 2011-06-15`);
  }
}

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

function validateAssumeRole(params: Record<string, string>): Reply | undefined {
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
  const sessionName = params.RoleSessionName!;
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
  const seconds = sessionSeconds(params.DurationSeconds, config);
  if (typeof seconds !== "number") return seconds;
  const expiresAt = ctx.nowMs + seconds * 1000;
  const issued = ctx.store.issueRoleSession(roleArn, sessionName, expiresAt);
  return stsOk("AssumeRole", {
    Credentials: {
      AccessKeyId: issued.accessKeyId,
      SecretAccessKey: issued.secretAccessKey,
      SessionToken: issued.sessionToken,
      Expiration: new Date(expiresAt).toISOString(),
    },
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

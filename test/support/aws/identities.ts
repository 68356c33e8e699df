/** Known principals (accessKeyId → secret/account) and issuing of temporary role credentials. */
import { randomBytes } from "node:crypto";
import type { AwsIdentity, AwsIdentityInput, CredentialOrigin } from "./types.js";

export const DEFAULT_ACCESS_KEY_ID = "AKIDTESTTESTTESTTEST";
export const DEFAULT_SECRET_ACCESS_KEY = "test-secret-key-not-real";
export const DEFAULT_ACCOUNT = "123456789012";

const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/;

export interface ParsedRoleArn {
  partition: string;
  account: string;
  roleName: string;
}

export function parseRoleArn(arn: string): ParsedRoleArn | undefined {
  const m = ROLE_ARN.exec(arn);
  if (!m) return undefined;
  return { partition: m[1]!, account: m[2]!, roleName: m[4]! };
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Random upper-case id like the ones IAM uses (e.g. "ASIA" + 16 chars). */
export function randomId(prefix: string, length: number): string {
  const bytes = randomBytes(length);
  let out = prefix;
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

export class IdentityStore {
  private readonly byKey = new Map<string, AwsIdentity>();

  add(input: AwsIdentityInput): AwsIdentity {
    const identity: AwsIdentity = {
      arn: `arn:aws:iam::${input.account}:user/test`,
      userId: randomId("AIDA", 17),
      ...input,
    };
    this.byKey.set(identity.accessKeyId, identity);
    return identity;
  }

  get(accessKeyId: string): AwsIdentity | undefined {
    return this.byKey.get(accessKeyId);
  }

  /**
   * Issues ASIA… credentials for `roleArn`, valid until `expiresAt` (epoch ms), remembering how they
   * were issued so that tests can tell which path produced the credentials that signed a call.
   */
  issueRoleSession(
    roleArn: string,
    sessionName: string,
    expiresAt: number,
    how: Omit<CredentialOrigin, "roleArn" | "sessionName"> = { via: "AssumeRole" },
  ): AwsIdentity {
    const role = parseRoleArn(roleArn);
    if (!role) throw new Error(`not a role ARN: ${roleArn}`);
    const roleId = randomId("AROA", 17);
    return this.add({
      accessKeyId: randomId("ASIA", 16),
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(420).toString("base64")}`,
      account: role.account,
      arn: `arn:${role.partition}:sts::${role.account}:assumed-role/${role.roleName}/${sessionName}`,
      userId: `${roleId}:${sessionName}`,
      expiresAt,
      origin: { ...how, roleArn, sessionName },
    });
  }
}

/** Claims of a Kubernetes projected service-account token, as far as STS and EKS Auth read them. */
export interface ServiceAccountTokenClaims {
  /** The cluster's service-account issuer, e.g. "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE". */
  iss: string;
  /** "system:serviceaccount:<namespace>:<name>" */
  sub: string;
  aud?: string | string[];
  /** Expiry, epoch ms. Default one hour from now. */
  expiresAt?: number;
}

/**
 * A JWT shaped like a projected service-account token. Its signature is random bytes: neither the
 * STS stand-in nor the Pod Identity Agent stand-in verifies signatures, only what the claims say.
 */
export function serviceAccountToken(claims: ServiceAccountTokenClaims): string {
  const iat = Math.floor(Date.now() / 1000);
  const exp = Math.floor((claims.expiresAt ?? Date.now() + 3_600_000) / 1000);
  const [, namespace = "", name = ""] = /^system:serviceaccount:([^:]+):(.+)$/.exec(claims.sub) ?? [];
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = encode({ alg: "RS256", kid: randomBytes(20).toString("hex") });
  const payload = encode({
    aud: claims.aud ?? ["sts.amazonaws.com"],
    exp,
    iat,
    iss: claims.iss,
    nbf: iat,
    sub: claims.sub,
    "kubernetes.io": { namespace, serviceaccount: { name, uid: randomBytes(16).toString("hex") } },
  });
  return `${header}.${payload}.${randomBytes(256).toString("base64url")}`;
}

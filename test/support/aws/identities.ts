/** Known principals (accessKeyId → secret/account) and issuing of temporary role credentials. */
import { randomBytes } from "node:crypto";
import type { AwsIdentity, AwsIdentityInput } from "./types.js";

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

  /** Issues ASIA… credentials for `roleArn`, valid until `expiresAt` (epoch ms). */
  issueRoleSession(roleArn: string, sessionName: string, expiresAt: number): AwsIdentity {
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
    });
  }
}

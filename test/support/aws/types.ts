/** Public types of the local AWS stand-in (ECR + STS over loopback). */

export type AwsService = "ecr" | "ecr-public" | "sts";

/** Actions the stand-in implements. Faults can be set for any action name the SDK may send. */
export type AwsAction =
  "GetAuthorizationToken" | "AssumeRole" | "AssumeRoleWithWebIdentity" | "GetCallerIdentity";

/** One request received by the stand-in (recorded on arrival, `status`/`error` filled in when answered). */
export interface AwsCall {
  service: AwsService;
  /** e.g. "GetAuthorizationToken", "AssumeRole"; "" when an STS query request carried no Action. */
  action: string;
  /** Region from the SigV4 credential scope (undefined when unsigned or unparseable). */
  region: string | undefined;
  /** Access key from the SigV4 credential scope, even when it turned out unknown. */
  accessKeyId: string | undefined;
  /** Account of the verified caller; undefined when authentication failed. */
  account: string | undefined;
  /** How the verified caller's temporary credentials were issued; undefined for long-term keys. */
  origin?: CredentialOrigin;
  /** `now()` of the stand-in when the request arrived (epoch ms). */
  at: number;
  /** ECR: the JSON body; STS: the query parameters without Action/Version. */
  params: Record<string, unknown>;
  /** HTTP status answered; undefined while pending/hung or when the client went away first. */
  status?: number;
  /** Error code answered (`__type` for ECR, `<Code>` for STS); undefined on success. */
  error?: string;
}

export type AwsCallFilter =
  | Partial<Pick<AwsCall, "service" | "action" | "region" | "accessKeyId" | "account" | "status" | "error">>
  | ((call: AwsCall) => boolean);

/** A principal the stand-in can authenticate. */
export interface AwsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  /** Required (and must match) for temporary credentials. */
  sessionToken?: string;
  account: string;
  /** Caller ARN used in GetCallerIdentity and AccessDenied messages. */
  arn: string;
  userId: string;
  /** Temporary credentials stop working at this `now()` (epoch ms). */
  expiresAt?: number;
  /** How these temporary credentials were issued; undefined for long-term keys. */
  origin?: CredentialOrigin;
}

/** Where a set of temporary credentials came from. */
export interface CredentialOrigin {
  /** STS AssumeRole, STS AssumeRoleWithWebIdentity, or the EKS Pod Identity Agent stand-in. */
  via: "AssumeRole" | "AssumeRoleWithWebIdentity" | "PodIdentity";
  roleArn: string;
  sessionName: string;
  /** AssumeRole: the access key that signed the call. */
  sourceAccessKeyId?: string;
  /** AssumeRoleWithWebIdentity / PodIdentity: the `sub` of the token presented. */
  subject?: string;
}

/**
 * Who may call AssumeRoleWithWebIdentity for a role: the role's trust policy naming an IAM OIDC
 * provider (by issuer URL) and, optionally, the subjects its condition allows.
 */
export interface WebIdentityTrust {
  /** `iss` of the tokens, e.g. "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE". */
  issuer: string;
  /** The OIDC provider's client IDs, matched against `aud`. Default ["sts.amazonaws.com"]. */
  audiences?: string[];
  /** Allowed `sub` values, e.g. "system:serviceaccount:ecr-webhook:ecr-webhook"; undefined = any. */
  subjects?: string[];
}

/** accessKeyId/secret/account are required; arn/userId default to an IAM user "test" in that account. */
export type AwsIdentityInput = Pick<AwsIdentity, "accessKeyId" | "secretAccessKey" | "account"> &
  Partial<AwsIdentity>;

export interface AwsRoleConfig {
  /** When set, AssumeRole must pass exactly this ExternalId, otherwise AccessDenied. */
  externalId?: string;
  /** Role MaxSessionDuration; DurationSeconds above it → ValidationError. Default 3600 (as in IAM). */
  maxSessionDurationSeconds?: number;
  /** Trust for AssumeRoleWithWebIdentity; without it the role refuses every web identity. */
  webIdentity?: WebIdentityTrust;
}

export interface AwsStandInOptions {
  /** Base test credentials. Default AKIDTESTTESTTESTTEST / test-secret-key-not-real. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Account the base credentials belong to. Default "123456789012". */
  account?: string;
  /** Further principals (accessKeyId → account mapping). */
  identities?: AwsIdentityInput[];
  /** Per-role settings keyed by role ARN. */
  roles?: Record<string, AwsRoleConfig>;
  /** When false, AssumeRole of a role not in `roles` is AccessDenied. Default true. */
  allowUnknownRoles?: boolean;
  /** ECR token lifetime. Default 12h. */
  tokenTtlMs?: number;
  /** Clock for expiresAt / Expiration / call timestamps / credential expiry (epoch ms). Default Date.now. */
  now?: () => number;
}

/** An ECR token handed out by GetAuthorizationToken. */
export interface IssuedEcrToken {
  account: string;
  region: string;
  password: string;
  /** epoch ms */
  expiresAt: number;
  proxyEndpoint: string;
  accessKeyId: string;
  /** Issued by ECR Public (for public.ecr.aws) rather than by ECR. */
  public?: boolean;
}

export interface AwsStandIn {
  /** e.g. "http://127.0.0.1:41234" — usable as the client `endpoint` for both ECR and STS. */
  readonly url: string;
  /** Every request received, in arrival order (live array). */
  readonly calls: AwsCall[];
  /** Every ECR token issued, in order (live array). */
  readonly tokens: IssuedEcrToken[];
  count(filter?: AwsCallFilter): number;
  endpointEnv(): {
    AWS_ENDPOINT_URL_ECR: string;
    AWS_ENDPOINT_URL_ECR_PUBLIC: string;
    AWS_ENDPOINT_URL_STS: string;
  };
  /** Answer the next `times` calls of `action` with a throttling error. */
  throttleNext(action: AwsAction | (string & {}), times?: number): void;
  /** Answer the next `times` calls of `action` with a server error (ECR ServerException / STS InternalFailure). */
  failNext(action: AwsAction | (string & {}), times?: number, status?: number): void;
  /** While on, requests for `action` are held open unanswered; turning it off lets held ones proceed. */
  hang(action: AwsAction | (string & {}), on: boolean): void;
  /** Number of requests currently held by `hang` (optionally for one action). */
  hanging(action?: string): number;
  /** Delay before every answer. */
  setLatency(ms: number): void;
  setRole(roleArn: string, config: AwsRoleConfig): void;
  addIdentity(identity: AwsIdentityInput): void;
  /**
   * Temporary credentials for `roleArn` that the stand-in accepts for `ttlMs` from its `now()`, as
   * another AWS service (EKS Auth, behind the Pod Identity Agent) would hand them out.
   */
  issueRoleCredentials(
    roleArn: string,
    origin: Omit<CredentialOrigin, "roleArn">,
    ttlMs: number,
  ): AwsIdentity;
  /** Forget calls/tokens, clear faults and latency, let hung requests proceed. Identities are kept. */
  reset(): void;
  /** Stops listening, drops hung requests and destroys all sockets. */
  close(): Promise<void>;
}

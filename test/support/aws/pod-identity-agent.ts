/**
 * A loopback stand-in of the EKS Pod Identity Agent: the node-local HTTP endpoint that EKS names in
 * AWS_CONTAINER_CREDENTIALS_FULL_URI. A pod GETs /v1/credentials with its projected service-account
 * token (the content of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) as the Authorization header; the
 * agent exchanges it with EKS Auth (AssumeRoleForPodIdentity) and answers with the role's
 * credentials. Here EKS Auth is the AWS stand-in's identity store, so ECR and STS calls signed with
 * the credentials handed out verify there.
 *
 * Answers as the real agent (github.com/aws/eks-pod-identity-agent) writes them: the credentials as
 * JSON with AccessKeyId, SecretAccessKey, Token, AccountId and Expiration; every error through Go's
 * http.Error, i.e. a text/plain line with the status of the failure (400 for a missing or unparseable
 * token, EKS Auth's status for a token it rejects).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseRoleArn } from "./identities.js";
import { webIdentityClaims } from "./sts.js";
import type { AwsStandIn } from "./types.js";

const HOUR_MS = 3_600_000;

export interface PodIdentityAgentOptions {
  /** Name of the cluster in the session names EKS Auth gives. Default "test-cluster". */
  clusterName?: string;
  /** Lifetime of the credentials handed out, by the AWS stand-in's clock. Default one hour. */
  credentialTtlMs?: number;
}

/** One request the agent answered. The token itself is not kept: only whether it was accepted. */
export interface PodIdentityRequest {
  method: string;
  path: string;
  /** Whether an Authorization header was sent at all. */
  authorized: boolean;
  status: number;
  /** On success: the access key handed out. */
  accessKeyId?: string;
}

export interface PodIdentityAgent {
  /** e.g. "http://127.0.0.1:41234/v1/credentials" — the value for AWS_CONTAINER_CREDENTIALS_FULL_URI. */
  readonly url: string;
  /** Every request answered, in order (live array). */
  readonly requests: PodIdentityRequest[];
  /**
   * A Pod Identity association: pods presenting `token` (a service-account token of the associated
   * ServiceAccount) get credentials for `roleArn`.
   */
  associate(token: string, roleArn: string): void;
  /** The variables EKS injects into the container, with the token file the test wrote. */
  containerEnv(tokenFile: string): {
    AWS_CONTAINER_CREDENTIALS_FULL_URI: string;
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: string;
  };
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body: string;
  contentType: string;
  accessKeyId?: string;
}

/** Go's http.Error: the message and a newline, as text/plain. */
const goError = (status: number, message: string): Answer => ({
  status,
  body: `${message}\n`,
  contentType: "text/plain; charset=utf-8",
});

/** How the agent relays an EKS Auth error: "[request id]: (Code): message, fault: client". */
const eksAuthError = (status: number, code: string, message: string): Answer =>
  goError(status, `[${randomUUID()}]: (${code}): ${message}, fault: client`);

class PodIdentityAgentServer implements PodIdentityAgent {
  readonly requests: PodIdentityRequest[] = [];
  url = "";
  private readonly associations = new Map<string, string>();
  private readonly server: Server;
  private readonly clusterName: string;
  private readonly ttlMs: number;

  constructor(
    private readonly aws: AwsStandIn,
    options: PodIdentityAgentOptions,
  ) {
    this.clusterName = options.clusterName ?? "test-cluster";
    this.ttlMs = options.credentialTtlMs ?? HOUR_MS;
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/v1/credentials`;
  }

  associate(token: string, roleArn: string): void {
    if (!parseRoleArn(roleArn)) throw new Error(`not a role ARN: ${roleArn}`);
    this.associations.set(token, roleArn);
  }

  containerEnv(tokenFile: string) {
    return {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: this.url,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0]!;
    const token = req.headers.authorization ?? "";
    const answer = this.answer(path, token);
    this.requests.push({
      method: req.method ?? "GET",
      path,
      authorized: token !== "",
      status: answer.status,
      ...(answer.accessKeyId ? { accessKeyId: answer.accessKeyId } : {}),
    });
    // The request has no body worth reading; drain it so the socket can be reused.
    req.resume();
    res.writeHead(answer.status, {
      "content-type": answer.contentType,
      "content-length": Buffer.byteLength(answer.body),
      ...(answer.status === 200 ? {} : { "x-content-type-options": "nosniff" }),
    });
    res.end(answer.body);
  }

  private answer(path: string, token: string): Answer {
    if (path !== "/v1/credentials") return goError(404, "404 page not found");
    // The agent's own checks: the token must be there and parse as a JWT with valid time claims.
    if (token === "") return goError(400, "Service account token cannot be empty");
    const claims = webIdentityClaims(token);
    if (!claims) {
      return goError(
        400,
        "Service account token cannot be parsed: token is malformed: could not parse token",
      );
    }
    if (claims.exp !== undefined && claims.exp * 1000 <= Date.now()) {
      return goError(
        400,
        "Service account token failed basic claim validations: token has invalid claims: token is expired",
      );
    }
    // EKS Auth's verdict: only a token of an associated ServiceAccount gets credentials.
    const roleArn = this.associations.get(token);
    if (roleArn === undefined) {
      return eksAuthError(
        400,
        "InvalidTokenException",
        "The specified Kubernetes service account token is invalid.",
      );
    }
    const role = parseRoleArn(roleArn)!;
    const pod = claims.sub.split(":").at(-1) ?? "pod";
    const sessionName = `eks-${this.clusterName}-${pod}-${randomUUID()}`.slice(0, 64);
    const issued = this.aws.issueRoleCredentials(
      roleArn,
      { via: "PodIdentity", sessionName, subject: claims.sub },
      this.ttlMs,
    );
    return {
      status: 200,
      contentType: "application/json",
      body: JSON.stringify({
        AccessKeyId: issued.accessKeyId,
        SecretAccessKey: issued.secretAccessKey,
        Token: issued.sessionToken,
        AccountId: role.account,
        Expiration: new Date(issued.expiresAt!).toISOString(),
      }),
      accessKeyId: issued.accessKeyId,
    };
  }
}

/** Starts the agent stand-in on 127.0.0.1 with a random port, handing out credentials `aws` accepts. */
export async function startPodIdentityAgent(
  aws: AwsStandIn,
  options: PodIdentityAgentOptions = {},
): Promise<PodIdentityAgent> {
  const agent = new PodIdentityAgentServer(aws, options);
  await agent.listen();
  return agent;
}

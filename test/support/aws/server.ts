/** One loopback HTTP server answering ECR (awsJson1_1) and STS (awsQuery) as the real services do. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { handleEcr, handleEcrPublic, parseEcrBody } from "./ecr.js";
import { Faults } from "./faults.js";
import {
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCOUNT,
  DEFAULT_SECRET_ACCESS_KEY,
  IdentityStore,
} from "./identities.js";
import {
  authError,
  ECR_PUBLIC_TARGET_PREFIX,
  ECR_TARGET_PREFIX,
  ecrError,
  serverFault,
  stsError,
  throttled,
  type Reply,
} from "./reply.js";
import { parseAuthorization, verifySigV4, type ReceivedRequest } from "./sigv4.js";
import { handleSts, handleUnsignedSts, parseQueryParams, UNSIGNED_STS_ACTIONS } from "./sts.js";
import type {
  AwsCall,
  AwsCallFilter,
  AwsIdentity,
  AwsIdentityInput,
  AwsRoleConfig,
  AwsService,
  AwsStandIn,
  AwsStandInOptions,
  CredentialOrigin,
  IssuedEcrToken,
} from "./types.js";

const TWELVE_HOURS_MS = 12 * 60 * 60 * 1000;

interface Route {
  service: AwsService;
  action: string;
  /** undefined = unparseable body */
  params: Record<string, unknown> | undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** ECR is recognised by its X-Amz-Target, STS by an awsQuery form body (or a GET with ?Action=). */
function route(req: ReceivedRequest): Route | undefined {
  const target = req.headers["x-amz-target"];
  if (typeof target === "string" && target.startsWith(ECR_TARGET_PREFIX)) {
    return { service: "ecr", action: target.slice(ECR_TARGET_PREFIX.length), params: parseEcrBody(req.body) };
  }
  if (typeof target === "string" && target.startsWith(ECR_PUBLIC_TARGET_PREFIX)) {
    const action = target.slice(ECR_PUBLIC_TARGET_PREFIX.length);
    return { service: "ecr-public", action, params: parseEcrBody(req.body) };
  }
  const isForm = req.headers["content-type"]?.includes("application/x-www-form-urlencoded") ?? false;
  const query = req.url.includes("?") ? req.url.slice(req.url.indexOf("?") + 1) : "";
  if (!isForm && !query.includes("Action=")) return undefined;
  const all = parseQueryParams(isForm ? req.body.toString("utf8") : query);
  const params = Object.fromEntries(Object.entries(all).filter(([k]) => k !== "Action" && k !== "Version"));
  return { service: "sts", action: all.Action ?? "", params };
}

function matches(call: AwsCall, filter: AwsCallFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === "function") return filter(call);
  return Object.entries(filter).every(([k, v]) => call[k as keyof AwsCall] === v);
}

class AwsStandInServer implements AwsStandIn {
  readonly calls: AwsCall[] = [];
  readonly tokens: IssuedEcrToken[] = [];
  url = "";
  private readonly faults = new Faults();
  private readonly store = new IdentityStore();
  private readonly roles = new Map<string, AwsRoleConfig>();
  private readonly now: () => number;
  private readonly tokenTtlMs: number;
  private readonly allowUnknownRoles: boolean;
  private readonly server: Server;
  private closing: Promise<void> | undefined;

  constructor(options: AwsStandInOptions) {
    this.now = options.now ?? Date.now;
    this.tokenTtlMs = options.tokenTtlMs ?? TWELVE_HOURS_MS;
    this.allowUnknownRoles = options.allowUnknownRoles ?? true;
    const base = options.credentials ?? {
      accessKeyId: DEFAULT_ACCESS_KEY_ID,
      secretAccessKey: DEFAULT_SECRET_ACCESS_KEY,
    };
    this.store.add({ ...base, account: options.account ?? DEFAULT_ACCOUNT });
    for (const identity of options.identities ?? []) this.store.add(identity);
    for (const [arn, config] of Object.entries(options.roles ?? {})) this.roles.set(arn, config);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          this.write(res, undefined, ecrError(500, "InternalFailure", `stand-in error: ${String(err)}`));
        }
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  count(filter?: AwsCallFilter): number {
    return this.calls.filter((c) => matches(c, filter)).length;
  }

  endpointEnv() {
    return {
      AWS_ENDPOINT_URL_ECR: this.url,
      AWS_ENDPOINT_URL_ECR_PUBLIC: this.url,
      AWS_ENDPOINT_URL_STS: this.url,
    };
  }

  throttleNext(action: string, times = 1): void {
    this.faults.throttleNext(action, times);
  }

  failNext(action: string, times = 1, status = 500): void {
    this.faults.failNext(action, times, status);
  }

  hang(action: string, on: boolean): void {
    this.faults.hang(action, on);
  }

  hanging(action?: string): number {
    return this.faults.hanging(action);
  }

  setLatency(ms: number): void {
    this.faults.latencyMs = ms;
  }

  setRole(roleArn: string, config: AwsRoleConfig): void {
    this.roles.set(roleArn, config);
  }

  addIdentity(identity: AwsIdentityInput): void {
    this.store.add(identity);
  }

  issueRoleCredentials(
    roleArn: string,
    origin: Omit<CredentialOrigin, "roleArn">,
    ttlMs: number,
  ): AwsIdentity {
    const { sessionName, ...how } = origin;
    return this.store.issueRoleSession(roleArn, sessionName, this.now() + ttlMs, how);
  }

  reset(): void {
    this.calls.length = 0;
    this.tokens.length = 0;
    this.faults.reset();
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.faults.dropAll();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received: ReceivedRequest = {
      method: req.method ?? "GET",
      url: req.url ?? "/",
      headers: req.headers,
      body: await readBody(req),
    };
    const r = route(received);
    if (!r) {
      this.write(
        res,
        undefined,
        ecrError(400, "UnknownOperationException", "Neither an ECR nor an STS request"),
      );
      return;
    }
    const scope = parseAuthorization(req.headers.authorization);
    const call: AwsCall = {
      service: r.service,
      action: r.action,
      region: scope?.region,
      accessKeyId: scope?.accessKeyId,
      account: undefined,
      at: this.now(),
      params: r.params ?? {},
    };
    this.calls.push(call);
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);

    if (r.service === "sts" && UNSIGNED_STS_ACTIONS.has(r.action)) {
      // The token in the request is the credential: there is no signature and no caller to verify.
      if ((await this.faults.holdIfHung(r.action, res)) === "gone") return;
      this.write(res, call, this.answerUnsigned(r));
      return;
    }
    const auth = await verifySigV4(received, (k) => this.store.get(k), r.service, this.now());
    if (!auth.ok) {
      this.write(res, call, authError(r.service, auth.failure, auth.message));
      return;
    }
    call.account = auth.identity.account;
    if (auth.identity.origin) call.origin = auth.identity.origin;
    if ((await this.faults.holdIfHung(r.action, res)) === "gone") return;
    this.write(res, call, this.answer(r, auth.identity, auth.scope.region));
  }

  private answer(r: Route, identity: AwsIdentity, region: string): Reply {
    if (this.faults.takeThrottle(r.action)) return throttled(r.service);
    const failStatus = this.faults.takeFailure(r.action);
    if (failStatus !== undefined) return serverFault(r.service, failStatus);
    if (r.service === "ecr") {
      if (!r.params) return ecrError(400, "SerializationException", "Malformed JSON request body");
      return handleEcr(r.action, r.params, {
        identity,
        region,
        nowMs: this.now(),
        tokenTtlMs: this.tokenTtlMs,
        onToken: (t) => this.tokens.push(t),
      });
    }
    if (r.service === "ecr-public") {
      if (!r.params) return ecrError(400, "SerializationException", "Malformed JSON request body");
      return handleEcrPublic(r.action, {
        identity,
        region,
        nowMs: this.now(),
        tokenTtlMs: this.tokenTtlMs,
        onToken: (t) => this.tokens.push(t),
      });
    }
    if (!r.params) return stsError(400, "MalformedInput", "Malformed query");
    return handleSts(r.action, r.params as Record<string, string>, {
      identity,
      nowMs: this.now(),
      store: this.store,
      roleConfig: (arn) => this.roles.get(arn),
      allowUnknownRoles: this.allowUnknownRoles,
    });
  }

  private answerUnsigned(r: Route): Reply {
    if (this.faults.takeThrottle(r.action)) return throttled(r.service);
    const failStatus = this.faults.takeFailure(r.action);
    if (failStatus !== undefined) return serverFault(r.service, failStatus);
    if (!r.params) return stsError(400, "MalformedInput", "Malformed query");
    return handleUnsignedSts(r.action, r.params as Record<string, string>, {
      nowMs: this.now(),
      store: this.store,
      roleConfig: (arn) => this.roles.get(arn),
      roleConfigs: () => this.roles.entries(),
    });
  }

  private write(res: ServerResponse, call: AwsCall | undefined, reply: Reply): void {
    if (call) {
      call.status = reply.status;
      if (reply.error !== undefined) call.error = reply.error;
    }
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(reply.status, { ...reply.headers, "content-length": Buffer.byteLength(reply.body) });
    res.end(reply.body);
  }
}

/** Starts the stand-in on 127.0.0.1 with a random port. */
export async function startAwsStandIn(options: AwsStandInOptions = {}): Promise<AwsStandIn> {
  const standIn = new AwsStandInServer(options);
  await standIn.listen();
  return standIn;
}

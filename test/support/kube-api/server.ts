/**
 * The HTTP side: records each request, then applies latency, injected drops and failures,
 * authentication (403 for anonymous, 401 for a wrong token) and routing, like a kube-apiserver.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { VERSION_INFO, type AccessRules } from "./access.js";
import type { Cluster } from "./cluster.js";
import type { Faults } from "./faults.js";
import { handleRest, watchSpec } from "./handlers.js";
import { parsePath, type ParsedPath, type Route } from "./resources.js";
import {
  ApiError,
  conflict,
  failure,
  injected,
  methodNotAllowed,
  resourceNotFound,
  unauthorized,
  unauthorizedVerb,
} from "./status.js";
import type { FailSpec, KubeVerb, RecordedRequest } from "./types.js";
import type { WatchHub } from "./watch.js";

export interface ServerDeps {
  access: AccessRules;
  cluster: Cluster;
  hub: WatchHub;
  faults: Faults;
  token: string;
  user: string;
  listItemKinds: boolean;
  /** Secret names the user may list and watch (with a metadata.name field selector). */
  listableSecretNames: readonly string[];
}

type Auth = "ok" | "anonymous" | "invalid";

interface Incoming {
  record: RecordedRequest;
  parsed: ParsedPath;
  auth: Auth;
}

const WRITES = new Set<KubeVerb>(["create", "update", "patch", "delete"]);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseBody(raw: string): unknown {
  if (raw === "") return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function describe(req: IncomingMessage, raw: string, auth: Auth): Incoming {
  const url = new URL(req.url ?? "/", "http://stand-in");
  const query = Object.fromEntries(url.searchParams);
  const method = req.method ?? "GET";
  const parsed = parsePath(url.pathname, method, query);
  const route = parsed.kind === "resource" ? parsed.route : undefined;
  const impersonate = req.headers["impersonate-user"];
  const record: RecordedRequest = {
    method,
    path: url.pathname,
    query,
    verb: route?.verb,
    resource: route && (route.subresource ? `${route.def.plural}/${route.subresource}` : route.def.plural),
    namespace: route?.namespace,
    name: route?.name,
    contentType: req.headers["content-type"],
    accept: req.headers.accept,
    body: parseBody(raw),
    authenticated: auth === "ok",
    ...(typeof impersonate === "string" ? { impersonateUser: impersonate } : {}),
  };
  return { record, parsed, auth };
}

export class KubeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly deps: ServerDeps) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Runs fn after ms unless the server is closed first. */
  schedule(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(timer);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleepers.delete(timer);
        resolve();
      }, ms);
      this.sleepers.set(timer, resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const [timer, wake] of this.sleepers) {
      clearTimeout(timer);
      wake();
    }
    this.sleepers.clear();
    this.deps.hub.drop();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authenticate(header: string | undefined): Auth {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    if (!match) return "anonymous";
    return match[1] === this.deps.token ? "ok" : "invalid";
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const raw = await readBody(req);
      const incoming = describe(req, raw, this.authenticate(req.headers.authorization));
      this.requests.push(incoming.record);
      const { faults } = this.deps;
      if (faults.latencyMs > 0) await this.sleep(faults.latencyMs);
      if (this.closed) return void res.socket?.destroy();
      if (faults.takeDrop(incoming.record)) return void req.socket.destroy();
      const fail = faults.takeFail(incoming.record);
      if (fail) return this.sendFailure(res, fail);
      this.dispatch(res, incoming);
    } catch (error) {
      this.sendError(res, error);
    }
  }

  private dispatch(res: ServerResponse, { record, parsed, auth }: Incoming): void {
    if (auth === "invalid") throw unauthorized();
    if (auth === "anonymous") throw this.anonymous(parsed, record);
    if (parsed.kind === "non-resource") return this.nonResource(res, record);
    if (parsed.kind === "unknown-api") throw resourceNotFound();
    const { route } = parsed;
    this.authorize(route, record.query);
    if (WRITES.has(route.verb) && this.deps.faults.takeConflict(record)) {
      const bodyName = (record.body as { metadata?: { name?: string } } | undefined)?.metadata?.name;
      throw conflict({ group: route.def.group, resource: route.def.plural }, route.name ?? bodyName ?? "");
    }
    if (route.verb === "watch")
      return this.deps.hub.serve(res, watchSpec(route, record.query, record.accept));
    const ctx = {
      cluster: this.deps.cluster,
      listItemKinds: this.deps.listItemKinds,
      access: this.deps.access,
    };
    const input = {
      query: { ...record.query },
      body: record.body,
      contentType: record.contentType ?? "",
      user: record.impersonateUser ?? this.deps.user,
      accept: record.accept ?? "",
    };
    const reply = handleRest(ctx, route, input);
    this.send(res, reply.status, reply.body);
  }

  /** GET /version is the only non-resource path served (what `kubectl version` and doctor ask). */
  private nonResource(res: ServerResponse, record: RecordedRequest): void {
    if (record.path === "/version" && record.method === "GET") return this.send(res, 200, VERSION_INFO);
    this.send(res, 404, "404 page not found\n");
  }

  private anonymous(parsed: ParsedPath, record: RecordedRequest): ApiError {
    const user = "system:anonymous";
    if (parsed.kind !== "resource") {
      const verb = record.method.toLowerCase();
      return new ApiError(
        failure(403, "Forbidden", `forbidden: User "${user}" cannot ${verb} path "${record.path}"`, {}),
      );
    }
    return unauthorizedVerb(user, { ...this.attributes(parsed.route), verb: parsed.route.verb });
  }

  private attributes(route: Route) {
    const resource = route.subresource ? `${route.def.plural}/${route.subresource}` : route.def.plural;
    return {
      verb: route.verb,
      group: route.def.group,
      resource,
      namespace: route.namespace,
      name: route.name,
    };
  }

  /**
   * Verbs the product must never use get the 403 RBAC would give; others not served get 405. As the
   * shipped ClusterRole grants list/watch on Secrets for one resourceName only, the real server allows
   * them only with a field selector naming it (it authorizes the selected name against resourceNames).
   */
  private authorize(route: Route, query: Readonly<Record<string, string>>): void {
    if (route.subresource !== undefined) throw resourceNotFound();
    if (route.def.forbidden.has(route.verb)) throw unauthorizedVerb(this.deps.user, this.attributes(route));
    if (!route.def.verbs.has(route.verb)) throw methodNotAllowed();
    const named = /^metadata\.name=([^,]+)$/.exec(query.fieldSelector ?? "")?.[1];
    if (
      route.def.plural === "secrets" &&
      (route.verb === "list" || route.verb === "watch") &&
      !(named && this.deps.listableSecretNames.includes(named))
    ) {
      throw unauthorizedVerb(this.deps.user, this.attributes(route));
    }
  }

  private sendFailure(res: ServerResponse, spec: FailSpec): void {
    const retryAfter = spec.retryAfterSeconds ?? (spec.status === 429 ? 1 : undefined);
    const headers: Record<string, string> =
      retryAfter !== undefined ? { "Retry-After": String(retryAfter) } : {};
    const body = spec.body ?? injected(spec.status, spec.message, retryAfter);
    this.send(res, spec.status, body, { ...headers, ...spec.headers });
  }

  private sendError(res: ServerResponse, error: unknown): void {
    if (error instanceof ApiError) return this.send(res, error.code, error.body, error.headers);
    const message = error instanceof Error ? error.message : String(error);
    this.send(res, 500, injected(500, message));
  }

  private send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent || res.destroyed) return;
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, {
      "Content-Type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
      "Cache-Control": "no-cache, private",
      "Content-Length": String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }
}

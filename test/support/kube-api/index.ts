/**
 * A Kubernetes API stand-in for tests: a real HTTP server on 127.0.0.1 (random port) that answers like
 * a kube-apiserver (1.19 Status bodies, see test/fixtures/apiserver) for namespaces (get/list/watch/
 * create/update/patch/delete with Terminating), secrets (get/create/update/patch/delete; list and watch
 * are refused with 403), serviceaccounts (get/list/create/update/patch/delete), events (create, core and
 * events.k8s.io), coordination.k8s.io leases (get/create/update/patch/delete), admissionregistration.k8s.io
 * mutatingwebhookconfigurations (cluster-scoped; get/list/create/update/patch/delete), authorization.k8s.io
 * selfsubjectaccessreviews (create: allowed unless denyAccess() says otherwise) and GET /version, so that
 * @kubernetes/client-node works against it unmodified.
 *
 *   const api = await startKubeApi();
 *   api.addNamespace("team-a", { labels: { "ecr-webhook/enabled": "true" } });
 *   const core = api.kubeConfig().makeApiClient(CoreV1Api);
 *   ...
 *   expect(api.count({ verb: "create", resource: "secrets" })).toBe(1);
 *   await api.close();
 *
 * Seeding/inspection (addNamespace, put, get, listObjects...) bypasses validation and admission but
 * bumps the resourceVersion and feeds watches like API writes. Faults: failNext (Status for the code,
 * Retry-After for 429), dropNext (socket destroyed unanswered), conflictNext (409 on writes),
 * setLatency (delay before handling), dropWatches/endWatches, compactHistory (410 for old watches).
 * With client-node 1.4, dropWatches() makes an informer emit "error" and stop (the caller restarts
 * it, resuming from its resourceVersion); endWatches() makes it re-watch by itself; after
 * compactHistory() a resumed watch gets an ERROR 410 event and the informer relists.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { AccessRules } from "./access.js";
import { Cluster } from "./cluster.js";
import { Faults } from "./faults.js";
import { storageDef } from "./resources.js";
import { KubeApiServer } from "./server.js";
import { Store } from "./store.js";
import type {
  KubeApiOptions,
  KubeApiStandIn,
  KubeObject,
  NamespaceSeed,
  ObjectMeta,
  RecordedRequest,
  RequestFilter,
  ResourcePlural,
} from "./types.js";
import { WatchHub } from "./watch.js";

export type * from "./types.js";
export type { AccessAttributes, AccessFilter } from "./access.js";
export type { StatusBody, StatusCause, StatusDetails } from "./status.js";

const DEFAULT_TOKEN = "test-token";
const DEFAULT_USER = "system:serviceaccount:ecr-webhook:ecr-webhook";

function matchesFilter(req: RecordedRequest, filter: RequestFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === "function") return filter(req);
  return Object.entries(filter).every(([key, value]) => req[key as keyof RecordedRequest] === value);
}

const copy = <T>(value: T): T => structuredClone(value);

export async function startKubeApi(options: KubeApiOptions = {}): Promise<KubeApiStandIn> {
  const token = options.token ?? DEFAULT_TOKEN;
  const store = new Store(options.historyLimit ?? 1000, options.initialResourceVersion ?? 100);
  const faults = new Faults();
  faults.latencyMs = options.latencyMs ?? 0;
  const hub = new WatchHub(store, {
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
    defaultTimeoutSeconds: options.defaultWatchTimeoutSeconds,
  });
  const cluster = new Cluster(store, {
    now: options.now ?? (() => new Date()),
    namespaceFinalizeDelayMs: options.namespaceFinalizeDelayMs,
    defaultServiceAccount: options.defaultServiceAccount ?? false,
    schedule: (fn, ms) => server.schedule(fn, ms),
  });
  const access = new AccessRules();
  const server = new KubeApiServer({
    access,
    cluster,
    hub,
    faults,
    token,
    user: options.user ?? DEFAULT_USER,
    listItemKinds: options.listItemKinds ?? true,
    listableSecretNames: options.listableSecretNames ?? ["ecr-pull-secret"],
  });
  const url = await server.listen();
  const running = server;
  const namespaces = storageDef("namespaces");

  return {
    url,
    kubeConfig(opts = {}) {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: "kube-api-stand-in", server: url, skipTLSVerify: true }],
        users: [{ name: "stand-in-user", token: opts.token ?? token }],
        contexts: [
          {
            name: "stand-in",
            cluster: "kube-api-stand-in",
            user: "stand-in-user",
            namespace: opts.namespace,
          },
        ],
        currentContext: "stand-in",
      });
      return kc;
    },
    close: () => running.close(),

    resourceVersion: () => String(store.resourceVersion),
    addNamespace(name, seed: NamespaceSeed = {}) {
      if (store.get("namespaces", undefined, name)) throw new Error(`namespace ${name} already exists`);
      const metadata: ObjectMeta = { name };
      if (seed.labels) metadata.labels = { ...seed.labels };
      if (seed.annotations) metadata.annotations = { ...seed.annotations };
      return copy(cluster.seed("namespaces", undefined, { metadata }));
    },
    updateNamespace(name, mutate) {
      const current = copy(cluster.read(namespaces, undefined, name));
      const next = mutate(current) ?? current;
      return copy(cluster.seed("namespaces", undefined, { ...next, metadata: { ...next.metadata, name } }));
    },
    terminateNamespace: (name) => copy(cluster.terminateNamespace(name)) as KubeObject,
    removeNamespace: (name) => cluster.removeNamespace(name),
    put: (resource: ResourcePlural, namespace, obj) => copy(cluster.seed(resource, namespace, obj)),
    get: (resource, namespace, name) => {
      const obj = store.get(resource, storageDef(resource).namespaced ? namespace : undefined, name);
      return obj && copy(obj);
    },
    listObjects: (resource, namespace) => copy(store.list(resource, namespace)),
    remove: (resource, namespace, name) =>
      store.delete(resource, storageDef(resource).namespaced ? namespace : undefined, name) !== undefined,

    get requests() {
      return running.requests;
    },
    count: (filter) => running.requests.filter((r) => matchesFilter(r, filter)).length,
    clearRequests: () => void running.requests.splice(0),

    failNext: (spec) => faults.failNext(spec),
    setLatency: (ms) => void (faults.latencyMs = ms),
    dropNext: (spec) => faults.dropNext(spec),
    conflictNext: (spec) => faults.conflictNext(spec),
    dropWatches: () => hub.drop(),
    endWatches: () => hub.endAll(),
    compactHistory: () => store.compact(),
    openWatches: () => hub.size,
    denyAccess: (filter) => access.deny(filter),
    allowAllAccess: () => access.allowAll(),
  };
}

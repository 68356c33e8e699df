import { readFileSync } from "node:fs";
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  EventsV1Api,
  PatchStrategy,
  Watch,
  makeInformer,
  setHeaderOptions,
  type V1Namespace,
  type V1Secret,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { microTime } from "../../src/kube/micro-time.js";
import { startKubeApi, type KubeApiStandIn, type KubeObject } from "./kube-api/index.js";

const fixture = (file: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/apiserver/${file}`, import.meta.url), "utf8"));

/** The error a client-node call failed with: ApiException, whose body is the Status JSON text. */
async function failureOf(call: Promise<unknown>) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiException);
  const { code, body, headers } = error as ApiException<string>;
  expect(typeof body).toBe("string");
  return { code, raw: body, status: JSON.parse(body) as Record<string, any>, headers };
}

/** Same keys in the same order with the same values as the recorded fixture. */
const expectFixture = (raw: string, file: string) => expect(raw).toBe(JSON.stringify(fixture(file)));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const pullSecret = (name: string): V1Secret => ({
  metadata: { name, labels: { "app.kubernetes.io/managed-by": "x" } },
  type: "kubernetes.io/dockerconfigjson",
  data: { ".dockerconfigjson": "eyJhdXRocyI6e319" },
});

let api: KubeApiStandIn;
let core: CoreV1Api;

beforeEach(async () => {
  api = await startKubeApi();
  core = api.kubeConfig().makeApiClient(CoreV1Api);
  api.addNamespace("team-a", { labels: { "ecr-webhook/enabled": "true" } });
});

afterEach(async () => {
  await api.close();
});

describe("objects and errors", () => {
  it("creates and reads a secret with server-owned metadata and a bumped resourceVersion", async () => {
    const before = Number(api.resourceVersion());
    const created = await core.createNamespacedSecret({ namespace: "team-a", body: pullSecret("ecr-pull") });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.resourceVersion).toBe(String(before + 1));
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.metadata?.namespace).toBe("team-a");

    const read = await core.readNamespacedSecret({ name: "ecr-pull", namespace: "team-a" });
    expect(read.data).toEqual({ ".dockerconfigjson": "eyJhdXRocyI6e319" });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);

    // the stored object has the top-level shape of the recorded 201 (selfLink/managedFields aside)
    const stored = api.get("secrets", "team-a", "ecr-pull")!;
    const recorded = fixture("201-secret-created.json") as Record<string, any>;
    expect(Object.keys(stored)).toEqual(Object.keys(recorded));
    const recordedMeta = Object.keys(recorded.metadata).filter(
      (k) => k !== "selfLink" && k !== "managedFields",
    );
    expect(Object.keys(stored.metadata!)).toEqual(recordedMeta);
    expect(api.count({ verb: "create", resource: "secrets", namespace: "team-a" })).toBe(1);
    expect(api.count({ verb: "get", resource: "secrets", name: "ecr-pull" })).toBe(1);
  });

  it("generateName appends a 5-character suffix", async () => {
    const created = await core.createNamespacedSecret({
      namespace: "team-a",
      body: { ...pullSecret(""), metadata: { generateName: "ecr-pull-" } },
    });
    expect(created.metadata?.name).toMatch(/^ecr-pull-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it("turns stringData into base64 data and defaults the type", async () => {
    const created = await core.createNamespacedSecret({
      namespace: "team-a",
      body: { metadata: { name: "plain" }, stringData: { token: "hello" } },
    });
    expect(created.data).toEqual({ token: Buffer.from("hello").toString("base64") });
    expect(created.stringData).toBeUndefined();
    expect(created.type).toBe("Opaque");
  });

  it("answers 409 AlreadyExists for a second create", async () => {
    await core.createNamespacedSecret({ namespace: "team-a", body: pullSecret("ecr-pull") });
    const failure = await failureOf(
      core.createNamespacedSecret({ namespace: "team-a", body: pullSecret("ecr-pull") }),
    );
    expect(failure.code).toBe(409);
    expectFixture(failure.raw, "409-secret-alreadyexists.json");
  });

  it("answers 409 Conflict for a PUT with a stale resourceVersion, and takes a PUT without one", async () => {
    const created = await core.createNamespacedSecret({ namespace: "team-a", body: pullSecret("ecr-pull") });
    const fresh = await core.replaceNamespacedSecret({
      name: "ecr-pull",
      namespace: "team-a",
      body: { ...created, data: { ".dockerconfigjson": "e30=" } },
    });
    expect(Number(fresh.metadata?.resourceVersion)).toBeGreaterThan(
      Number(created.metadata?.resourceVersion),
    );

    const stale = await failureOf(
      core.replaceNamespacedSecret({ name: "ecr-pull", namespace: "team-a", body: created }),
    );
    expect(stale.code).toBe(409);
    expect(stale.status.reason).toBe("Conflict");
    expectFixture(stale.raw, "409-secret-conflict.json");

    const unconditional = await core.replaceNamespacedSecret({
      name: "ecr-pull",
      namespace: "team-a",
      body: { ...pullSecret("ecr-pull"), metadata: { name: "ecr-pull" } },
    });
    expect(unconditional.metadata?.uid).toBe(created.metadata?.uid);
    expect(unconditional.metadata?.labels).toBeUndefined();

    // an update that changes nothing keeps the resourceVersion, as the real server does
    const same = await core.replaceNamespacedSecret({
      name: "ecr-pull",
      namespace: "team-a",
      body: unconditional,
    });
    expect(same.metadata?.resourceVersion).toBe(unconditional.metadata?.resourceVersion);
  });

  it("answers 404 NotFound for a missing object and for a create in a missing namespace", async () => {
    const missing = await failureOf(core.readNamespacedSecret({ name: "nope", namespace: "team-a" }));
    expect(missing.code).toBe(404);
    expectFixture(missing.raw, "404-secret-notfound.json");

    const nowhere = await failureOf(
      core.createNamespacedSecret({ namespace: "nowhere", body: pullSecret("ecr-pull") }),
    );
    expect(nowhere.code).toBe(404);
    expectFixture(nowhere.raw, "404-namespace-notfound.json");
  });

  it("answers 422 Invalid for a bad name and a dockerconfigjson secret without its key", async () => {
    const failure = await failureOf(
      core.createNamespacedSecret({
        namespace: "team-a",
        body: { metadata: { name: "Bad_Name" }, type: "kubernetes.io/dockerconfigjson" },
      }),
    );
    expect(failure.code).toBe(422);
    expectFixture(failure.raw, "422-secret-invalid.json");
  });

  it("deletes a secret with a Success Status", async () => {
    const created = await core.createNamespacedSecret({ namespace: "team-a", body: pullSecret("ecr-pull") });
    const status = await core.deleteNamespacedSecret({ name: "ecr-pull", namespace: "team-a" });
    expect(status.status).toBe("Success");
    expect(status.details).toEqual({ name: "ecr-pull", kind: "secrets", uid: created.metadata?.uid });
    expect(api.get("secrets", "team-a", "ecr-pull")).toBeUndefined();
    expect(
      (await failureOf(core.deleteNamespacedSecret({ name: "ecr-pull", namespace: "team-a" }))).code,
    ).toBe(404);
  });

  it("refuses to list secrets with a 403 and records the attempt", async () => {
    const failure = await failureOf(core.listNamespacedSecret({ namespace: "team-a" }));
    expect(failure.code).toBe(403);
    expect(failure.status.message).toBe(
      'secrets is forbidden: User "system:serviceaccount:ecr-webhook:ecr-webhook" cannot list resource "secrets" in API group "" in the namespace "team-a"',
    );
    expect(api.count({ resource: "secrets", verb: "list" })).toBe(1);
  });

  it("answers an anonymous request with 403 and a wrong token with 401", async () => {
    const response = await fetch(`${api.url}/api/v1/namespaces/team-a/secrets`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(pullSecret("ecr-pull")),
    });
    expect(response.status).toBe(403);
    expectFixture(await response.text(), "403-anonymous-forbidden.json");
    expect(api.requests.at(-1)).toMatchObject({ verb: "create", resource: "secrets", authenticated: false });
    expect(api.get("secrets", "team-a", "ecr-pull")).toBeUndefined();

    const wrong = api.kubeConfig({ token: "wrong" }).makeApiClient(CoreV1Api);
    const error = await wrong.readNamespace({ name: "team-a" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<unknown>).code).toBe(401);
  });
});

describe("namespaces", () => {
  it("lists with label and field selectors", async () => {
    api.addNamespace("team-b", { labels: { "ecr-webhook/enabled": "false", tier: "gold" } });
    api.addNamespace("team-c", { labels: { tier: "silver" } });
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await core.listNamespace({ labelSelector, fieldSelector })).items.map((n) => n.metadata?.name);

    expect(await names("ecr-webhook/enabled=true")).toEqual(["team-a"]);
    expect(await names("ecr-webhook/enabled==true")).toEqual(["team-a"]);
    expect(await names("ecr-webhook/enabled")).toEqual(["team-a", "team-b"]);
    expect(await names("ecr-webhook/enabled!=true")).toEqual(["team-b", "team-c"]);
    expect(await names("!ecr-webhook/enabled")).toEqual(["team-c"]);
    expect(await names("tier in (gold,silver)")).toEqual(["team-b", "team-c"]);
    expect(await names("tier notin (gold)")).toEqual(["team-a", "team-c"]);
    expect(await names("tier in (gold, silver),ecr-webhook/enabled")).toEqual(["team-b"]);
    expect(await names(undefined, "metadata.name=team-c")).toEqual(["team-c"]);
    expect(await names(undefined, "metadata.name!=team-c")).toEqual(["team-a", "team-b"]);

    const list = await core.listNamespace();
    expect(list.kind).toBe("NamespaceList");
    expect(list.apiVersion).toBe("v1");
    expect(list.metadata?.resourceVersion).toBe(api.resourceVersion());
    expect(list.items[0]).toMatchObject({ kind: "Namespace", apiVersion: "v1", status: { phase: "Active" } });

    expect((await failureOf(core.listNamespace({ labelSelector: "a in (b" }))).code).toBe(400);
    expect((await failureOf(core.listNamespace({ fieldSelector: "spec.nope=x" }))).status.message).toBe(
      "field label not supported: spec.nope",
    );
  });

  it("creates, terminates and removes a namespace; no new content while it terminates", async () => {
    const created = await core.createNamespace({ body: { metadata: { name: "doomed" } } });
    expect(created.status?.phase).toBe("Active");
    expect(created.spec?.finalizers).toEqual(["kubernetes"]);
    await core.createNamespacedSecret({ namespace: "doomed", body: pullSecret("old") });

    await core.deleteNamespace({ name: "doomed" });
    const terminating = await core.readNamespace({ name: "doomed" });
    expect(terminating.status?.phase).toBe("Terminating");
    expect(terminating.metadata?.deletionTimestamp).toBeInstanceOf(Date);

    const refused = await failureOf(
      core.createNamespacedSecret({ namespace: "doomed", body: pullSecret("ecr-pull") }),
    );
    expect(refused.code).toBe(403);
    expectFixture(refused.raw, "403-namespace-terminating.json");
    // updates of existing content are still allowed
    await core.replaceNamespacedSecret({ name: "old", namespace: "doomed", body: pullSecret("old") });
    expect((await failureOf(core.deleteNamespace({ name: "doomed" }))).code).toBe(409);

    api.removeNamespace("doomed");
    expect((await failureOf(core.readNamespace({ name: "doomed" }))).code).toBe(404);
    expect(api.listObjects("secrets", "doomed")).toEqual([]);
  });

  it("removes a deleted namespace after the configured delay", async () => {
    const delayed = await startKubeApi({ namespaceFinalizeDelayMs: 50 });
    try {
      const client = delayed.kubeConfig().makeApiClient(CoreV1Api);
      delayed.addNamespace("short-lived");
      await client.deleteNamespace({ name: "short-lived" });
      expect(delayed.get("namespaces", undefined, "short-lived")?.status).toEqual({ phase: "Terminating" });
      await vi.waitFor(() => expect(delayed.get("namespaces", undefined, "short-lived")).toBeUndefined());
    } finally {
      await delayed.close();
    }
  });

  it("an informer with a labelSelector sees ADDED/MODIFIED/DELETED, resumes after drops and relists after 410", async () => {
    const kc = api.kubeConfig();
    const selector = "ecr-webhook/enabled=true";
    const informer = makeInformer<V1Namespace>(
      kc,
      "/api/v1/namespaces",
      () => core.listNamespace({ labelSelector: selector }),
      selector,
    );
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on("add", (ns) => seen.push(`add ${ns.metadata?.name}`));
    informer.on("update", (ns) => seen.push(`update ${ns.metadata?.name}`));
    informer.on("delete", (ns) => seen.push(`delete ${ns.metadata?.name}`));
    informer.on("error", (err) => errors.push(err));
    const enabled = { labels: { "ecr-webhook/enabled": "true" } };
    try {
      await informer.start();
      expect(seen).toEqual(["add team-a"]);

      await core.createNamespace({ body: { metadata: { name: "team-b", ...enabled } } });
      api.addNamespace("ignored");
      api.updateNamespace("team-b", (ns) => void (ns.metadata!.annotations = { note: "1" }));
      api.updateNamespace("team-b", (ns) => void (ns.metadata!.labels = {})); // leaves the selector
      await core.deleteNamespace({ name: "team-a" });
      await vi.waitFor(() =>
        expect(seen).toEqual(["add team-a", "add team-b", "update team-b", "delete team-b", "update team-a"]),
      );
      expect(informer.get("team-a")?.status?.phase).toBe("Terminating");
      api.removeNamespace("team-a");
      await vi.waitFor(() => expect(seen.at(-1)).toBe("delete team-a"));

      // a broken stream: client-node reports it and stops; a restart resumes from its resourceVersion
      api.dropWatches();
      await vi.waitFor(() => expect(errors).toHaveLength(1));
      api.addNamespace("team-c", enabled);
      await informer.start();
      await vi.waitFor(() => expect(seen.at(-1)).toBe("add team-c"));
      expect(api.count({ verb: "list", resource: "namespaces" })).toBe(1);

      // a stream that ends cleanly (server-side timeout): client-node re-watches on its own
      api.endWatches();
      await vi.waitFor(() => expect(api.count({ verb: "watch" })).toBe(3));
      api.addNamespace("team-d", enabled);
      await vi.waitFor(() => expect(seen.at(-1)).toBe("add team-d"));

      // history compacted while disconnected: the resumed watch gets 410 and the informer relists
      api.addNamespace("more-noise");
      api.dropWatches();
      await vi.waitFor(() => expect(errors).toHaveLength(2));
      api.addNamespace("team-e", enabled);
      api.removeNamespace("team-c");
      api.compactHistory();
      await informer.start();
      await vi.waitFor(() => expect(seen.slice(-2).sort()).toEqual(["add team-e", "delete team-c"]));
      expect(api.count({ verb: "list", resource: "namespaces" })).toBe(2);
      const [expiredWatch, relist, rewatch] = api.requests.slice(-3);
      expect([expiredWatch?.verb, relist?.verb, rewatch?.verb]).toEqual(["watch", "list", "watch"]);
      expect(Number(expiredWatch?.query.resourceVersion)).toBeLessThan(
        Number(rewatch?.query.resourceVersion),
      );
      expect(errors).toHaveLength(2);
      expect(
        informer
          .list()
          .map((ns) => ns.metadata?.name)
          .sort(),
      ).toEqual(["team-d", "team-e"]);
    } finally {
      await informer.stop();
    }
  });

  it("a watch from a compacted resourceVersion gets an ERROR 410 Expired event and ends", async () => {
    const old = api.resourceVersion();
    api.addNamespace("team-b");
    api.compactHistory();
    const events: { type: string; object: any }[] = [];
    const done = new Promise<unknown>((resolve) => {
      void new Watch(api.kubeConfig()).watch(
        "/api/v1/namespaces",
        { resourceVersion: old },
        (type, object) => events.push({ type, object }),
        resolve,
      );
    });
    expect(await done).toBeNull();
    expect(events).toEqual([
      {
        type: "ERROR",
        object: {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: `too old resource version: ${old} (${api.resourceVersion()})`,
          reason: "Expired",
          code: 410,
        },
      },
    ]);
  });

  it("a watch streams the current state without a resourceVersion and honours timeoutSeconds", async () => {
    const bookmarks = await startKubeApi({ bookmarkIntervalMs: 100 });
    try {
      bookmarks.addNamespace("x", { labels: { a: "b" } });
      bookmarks.addNamespace("y");
      const events: string[] = [];
      const started = Date.now();
      const done = new Promise<unknown>((resolve) => {
        void new Watch(bookmarks.kubeConfig()).watch(
          "/api/v1/namespaces",
          { labelSelector: "a=b", timeoutSeconds: 1, allowWatchBookmarks: true },
          (type, object: V1Namespace) =>
            events.push(`${type} ${object.metadata?.name ?? object.metadata?.resourceVersion}`),
          resolve,
        );
      });
      expect(await done).toBeNull();
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(events[0]).toBe("ADDED x");
      expect(events.slice(1).every((e) => e === `BOOKMARK ${bookmarks.resourceVersion()}`)).toBe(true);
      expect(events.length).toBeGreaterThan(2);
      expect(bookmarks.openWatches()).toBe(0);
    } finally {
      await bookmarks.close();
    }
  });
});

describe("serviceaccounts and patches", () => {
  beforeEach(() => {
    api.put("serviceaccounts", "team-a", {
      metadata: { name: "default" },
      secrets: [{ name: "default-token-vbxjk" }],
    });
  });

  it("applies a JSON patch and answers 422 when a test op fails", async () => {
    const patched = await core.patchNamespacedServiceAccount({
      name: "default",
      namespace: "team-a",
      body: [{ op: "add", path: "/imagePullSecrets", value: [{ name: "ecr-pull" }] }],
    });
    expect(patched.imagePullSecrets).toEqual([{ name: "ecr-pull" }]);
    const stored = api.get("serviceaccounts", "team-a", "default")!;
    const recorded = fixture("200-sa-jsonpatch.json") as Record<string, any>;
    expect(Object.keys(stored)).toEqual(Object.keys(recorded));
    expect(stored.secrets).toEqual(recorded.secrets);
    expect(api.requests.at(-1)?.contentType).toBe(PatchStrategy.JsonPatch);

    const rejected = await failureOf(
      core.patchNamespacedServiceAccount({
        name: "default",
        namespace: "team-a",
        body: [
          { op: "test", path: "/imagePullSecrets", value: [] },
          { op: "add", path: "/imagePullSecrets/-", value: { name: "other" } },
        ],
      }),
    );
    expect(rejected.code).toBe(422);
    expectFixture(rejected.raw, "422-sa-jsonpatch-testfailed.json");
    expect(api.get("serviceaccounts", "team-a", "default")).toEqual(stored);
  });

  it("applies merge and strategic-merge patches, with a resourceVersion in the patch as a precondition", async () => {
    const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    const patched = await core.patchNamespacedServiceAccount(
      { name: "default", namespace: "team-a", body: { metadata: { labels: { a: "1", b: "2" } } } },
      merge,
    );
    expect(patched.metadata?.labels).toEqual({ a: "1", b: "2" });
    expect(patched.secrets).toEqual([{ name: "default-token-vbxjk" }]);

    const strategic = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
    const removed = await core.patchNamespacedServiceAccount(
      { name: "default", namespace: "team-a", body: { metadata: { labels: { a: null } } } },
      strategic,
    );
    expect(removed.metadata?.labels).toEqual({ b: "2" });

    const stale = await failureOf(
      core.patchNamespacedServiceAccount(
        {
          name: "default",
          namespace: "team-a",
          body: { metadata: { resourceVersion: "1", labels: { c: "3" } } },
        },
        merge,
      ),
    );
    expect(stale.code).toBe(409);
    expect(stale.status.reason).toBe("Conflict");
    expect(api.count({ verb: "patch", resource: "serviceaccounts" })).toBe(3);
  });

  it("lists service accounts by label", async () => {
    api.put("serviceaccounts", "team-a", { metadata: { name: "builder", labels: { role: "ci" } } });
    const list = await core.listNamespacedServiceAccount({ namespace: "team-a", labelSelector: "role=ci" });
    expect(list.kind).toBe("ServiceAccountList");
    expect(list.items.map((sa) => sa.metadata?.name)).toEqual(["builder"]);
  });
});

describe("events and leases", () => {
  it("accepts core and events.k8s.io events", async () => {
    await core.createNamespacedEvent({
      namespace: "team-a",
      body: {
        metadata: { generateName: "ecr-pull-secret." },
        involvedObject: { kind: "Secret", namespace: "team-a", name: "ecr-pull-secret" },
        reason: "Created",
      },
    });
    const events = api.kubeConfig().makeApiClient(EventsV1Api);
    await events.createNamespacedEvent({
      namespace: "team-a",
      body: {
        metadata: { name: "ecr-pull.1" },
        eventTime: new Date(),
        reason: "Refreshed",
        action: "Refresh",
      },
    });
    const stored = api.listObjects("events", "team-a");
    expect(stored.map((e) => e.apiVersion).sort()).toEqual(["events.k8s.io/v1", "v1"]);
    expect(api.count({ verb: "create", resource: "events" })).toBe(2);
  });

  it("refuses an Event outside the namespace of what it is about, as the real server does", async () => {
    api.addNamespace("fixtures-x");
    const aboutNamespace = {
      metadata: { name: "fixtures-x.ecr-webhook.9wwfs" },
      involvedObject: { apiVersion: "v1", kind: "Namespace", name: "fixtures-x" },
      reason: "UnmanagedPullSecret",
    };
    const refused = await failureOf(
      core.createNamespacedEvent({ namespace: "fixtures-x", body: aboutNamespace }),
    );
    expect(refused.code).toBe(422);
    expectFixture(refused.raw, "422-event-namespace-mismatch.json");
    // A cluster-scoped object's Events belong in "default".
    api.addNamespace("default");
    await core.createNamespacedEvent({
      namespace: "default",
      body: { ...aboutNamespace, metadata: { name: "ok" } },
    });
    expect(api.listObjects("events", "default")).toHaveLength(1);
  });

  it("takes Lease times as MicroTime only: three fractional digits are a 400, six are stored as sent", async () => {
    const leases = api.kubeConfig().makeApiClient(CoordinationV1Api);
    api.addNamespace("fixtures-x");
    const recorded = fixture("201-lease-created.json") as { spec: Record<string, unknown> };
    const millis = "2026-11-29T06:28:10.793Z";
    // What a JavaScript Date serialises to: rejected.
    const refused = await failureOf(
      leases.createNamespacedLease({
        namespace: "fixtures-x",
        body: {
          metadata: { name: "l1" },
          spec: { ...recorded.spec, acquireTime: new Date(millis), renewTime: new Date(millis) },
        },
      }),
    );
    expect(refused.code).toBe(400);
    expectFixture(refused.raw, "400-lease-microtime-rejected.json");
    const created = await leases.createNamespacedLease({
      namespace: "fixtures-x",
      body: { metadata: { name: "l1" }, spec: recorded.spec },
    });
    expect(api.get("leases", "fixtures-x", "l1")?.spec).toEqual(recorded.spec);
    expect(String(created.spec?.renewTime)).toBe("2026-11-29T06:28:10.793000Z");
  });

  it("creates, reads, renews and deletes a lease", async () => {
    const leases = api.kubeConfig().makeApiClient(CoordinationV1Api);
    api.addNamespace("ecr-webhook");
    const created = await leases.createNamespacedLease({
      namespace: "ecr-webhook",
      body: {
        metadata: { name: "leader" },
        spec: { holderIdentity: "pod-a", leaseDurationSeconds: 15, renewTime: microTime(Date.now()) },
      },
    });
    const renewed = await leases.replaceNamespacedLease({
      name: "leader",
      namespace: "ecr-webhook",
      body: { ...created, spec: { ...created.spec, renewTime: microTime(Date.now()) } },
    });
    const lost = await failureOf(
      leases.replaceNamespacedLease({
        name: "leader",
        namespace: "ecr-webhook",
        body: { ...created, spec: { ...created.spec, holderIdentity: "pod-b" } },
      }),
    );
    expect(lost.code).toBe(409);
    expect(lost.status.details).toEqual({ name: "leader", group: "coordination.k8s.io", kind: "leases" });
    expect(
      (await leases.readNamespacedLease({ name: "leader", namespace: "ecr-webhook" })).spec?.holderIdentity,
    ).toBe(renewed.spec?.holderIdentity);
    await leases.deleteNamespacedLease({ name: "leader", namespace: "ecr-webhook" });
    const gone = await failureOf(leases.readNamespacedLease({ name: "leader", namespace: "ecr-webhook" }));
    expect(gone.status.message).toBe('leases.coordination.k8s.io "leader" not found');
  });
});

describe("as the real server and the shipped RBAC", () => {
  it("admits pods through the ServiceAccount plugin: its pull secrets copied in when the pod names none", async () => {
    api.put("serviceaccounts", "team-a", {
      metadata: { name: "default" },
      imagePullSecrets: [{ name: "ecr-pull-secret" }],
    });
    const bare = await core.createNamespacedPod({
      namespace: "team-a",
      body: { metadata: { name: "bare" }, spec: { containers: [{ name: "c", image: "x" }] } },
    });
    expect(bare.spec?.imagePullSecrets).toEqual([{ name: "ecr-pull-secret" }]);
    expect(bare.spec?.serviceAccountName).toBe("default");
    const own = await core.createNamespacedPod({
      namespace: "team-a",
      body: {
        metadata: { name: "own" },
        spec: { containers: [{ name: "c", image: "x" }], imagePullSecrets: [{ name: "mine" }] },
      },
    });
    expect(own.spec?.imagePullSecrets).toEqual([{ name: "mine" }]);
    const missing = await failureOf(
      core.createNamespacedPod({
        namespace: "team-a",
        body: {
          metadata: { name: "lost" },
          spec: { serviceAccountName: "nobody", containers: [{ name: "c", image: "x" }] },
        },
      }),
    );
    expect(missing.code).toBe(403);
    expect(missing.status.message).toBe(
      'pods "lost" is forbidden: error looking up service account team-a/nobody: serviceaccount "nobody" not found',
    );
  });

  it("labels every namespace with its own name", async () => {
    await core.createNamespace({
      body: { metadata: { name: "named", labels: { "kubernetes.io/metadata.name": "x" } } },
    });
    expect((await core.readNamespace({ name: "named" })).metadata?.labels).toEqual({
      "kubernetes.io/metadata.name": "named",
    });
    api.addNamespace("seeded");
    expect(api.get("namespaces", undefined, "seeded")?.metadata?.labels).toEqual({
      "kubernetes.io/metadata.name": "seeded",
    });
  });

  it("lists and watches Secrets only by the granted name, as metadata when asked", async () => {
    api.put("secrets", "team-a", pullSecret("ecr-pull-secret") as KubeObject);
    api.put("secrets", "team-a", pullSecret("other") as KubeObject);
    const denied = await failureOf(core.listSecretForAllNamespaces({}));
    expect(denied.code).toBe(403);
    expect(denied.status.message).toMatch(/cannot list resource "secrets"/);
    expect(
      (await failureOf(core.listSecretForAllNamespaces({ fieldSelector: "metadata.name=other" }))).code,
    ).toBe(403);
    const full = await core.listSecretForAllNamespaces({ fieldSelector: "metadata.name=ecr-pull-secret" });
    expect(full.items.map((i) => i.data)).toEqual([{ ".dockerconfigjson": "eyJhdXRocyI6e319" }]);
    const metadataOnly = await core.listSecretForAllNamespaces(
      { fieldSelector: "metadata.name=ecr-pull-secret" },
      setHeaderOptions("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
    );
    expect(metadataOnly.items).toHaveLength(1);
    expect(metadataOnly.items[0]!.data).toBeUndefined();
    expect(metadataOnly.items[0]!.metadata?.name).toBe("ecr-pull-secret");
  });
});

describe("control API", () => {
  it("seeds and reads deep copies that feed the resourceVersion", async () => {
    const rv = Number(api.resourceVersion());
    const put = api.put("secrets", "team-a", { metadata: { name: "seeded" }, data: { a: "YQ==" } });
    expect(put).toMatchObject({
      kind: "Secret",
      apiVersion: "v1",
      metadata: { resourceVersion: String(rv + 1) },
    });
    put.data = { b: "Yg==" };
    api.get("secrets", "team-a", "seeded")!.data = { c: "Yw==" };
    api.listObjects("secrets")[0]!.data = { d: "ZA==" };
    expect((await core.readNamespacedSecret({ name: "seeded", namespace: "team-a" })).data).toEqual({
      a: "YQ==",
    });
    expect(api.remove("secrets", "team-a", "seeded")).toBe(true);
    expect(api.listObjects("secrets")).toEqual([]);
  });

  it("can leave kind out of list items and create default service accounts, like a real cluster", async () => {
    const real = await startKubeApi({ listItemKinds: false, defaultServiceAccount: true });
    try {
      const client = real.kubeConfig().makeApiClient(CoreV1Api);
      await client.createNamespace({ body: { metadata: { name: "fresh" } } });
      const list = await client.listNamespacedServiceAccount({ namespace: "fresh" });
      expect(list.items.map((sa) => [sa.kind, sa.metadata?.name])).toEqual([[undefined, "default"]]);
    } finally {
      await real.close();
    }
  });

  it("refuses to watch secrets", async () => {
    const done = new Promise<unknown>((resolve) => {
      void new Watch(api.kubeConfig()).watch(
        "/api/v1/namespaces/team-a/secrets",
        {},
        () => undefined,
        resolve,
      );
    });
    expect(await done).toMatchObject({ statusCode: 403 });
    expect(api.count({ verb: "watch", resource: "secrets" })).toBe(1);
  });
});

describe("faults", () => {
  it("failNext answers with a Status for the code, once, for matching requests only", async () => {
    api.failNext({ status: 500 });
    const failed = await failureOf(core.readNamespace({ name: "team-a" }));
    expect(failed.code).toBe(500);
    expect(failed.status).toMatchObject({ kind: "Status", reason: "InternalError", code: 500 });
    await core.readNamespace({ name: "team-a" });

    api.failNext({ status: 429, retryAfterSeconds: 2, times: 2, match: (r) => r.verb === "create" });
    await core.readNamespace({ name: "team-a" });
    const throttled = await failureOf(
      core.createNamespacedSecret({ namespace: "team-a", body: pullSecret("s") }),
    );
    expect(throttled.code).toBe(429);
    expect(throttled.headers["retry-after"]).toBe("2");
    expect(throttled.status).toMatchObject({ reason: "TooManyRequests", details: { retryAfterSeconds: 2 } });
    expect(
      (await failureOf(core.createNamespacedSecret({ namespace: "team-a", body: pullSecret("s") }))).code,
    ).toBe(429);
    await core.createNamespacedSecret({ namespace: "team-a", body: pullSecret("s") });
  });

  it("setLatency delays every response", async () => {
    api.setLatency(150);
    const started = Date.now();
    await core.readNamespace({ name: "team-a" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    api.setLatency(0);
  });

  it("dropNext destroys the socket without an answer (not an ApiException) and changes nothing", async () => {
    api.dropNext({ match: (r) => r.verb === "create" });
    const error = await core
      .createNamespacedSecret({ namespace: "team-a", body: pullSecret("s") })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ApiException);
    expect(api.get("secrets", "team-a", "s")).toBeUndefined();
    await core.createNamespacedSecret({ namespace: "team-a", body: pullSecret("s") });
    expect(api.count({ verb: "create", resource: "secrets" })).toBe(2);
  });

  it("conflictNext answers 409 Conflict to the next writes", async () => {
    await core.createNamespacedSecret({ namespace: "team-a", body: pullSecret("s") });
    api.conflictNext({ times: 1 });
    await core.readNamespacedSecret({ name: "s", namespace: "team-a" }); // reads are not affected
    const conflict = await failureOf(
      core.replaceNamespacedSecret({ name: "s", namespace: "team-a", body: pullSecret("s") }),
    );
    expect(conflict.code).toBe(409);
    expect(conflict.status.message).toBe(
      'Operation cannot be fulfilled on secrets "s": the object has been modified; please apply your changes to the latest version and try again',
    );
    await core.replaceNamespacedSecret({ name: "s", namespace: "team-a", body: pullSecret("s") });
  });

  it("close() ends open watches", async () => {
    const done = new Promise<unknown>((resolve) => {
      void new Watch(api.kubeConfig()).watch("/api/v1/namespaces", {}, () => undefined, resolve);
    });
    await vi.waitFor(() => expect(api.openWatches()).toBe(1));
    await api.close();
    await done;
    expect(api.openWatches()).toBe(0);
    await sleep(0);
  });
});

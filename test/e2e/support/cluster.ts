/**
 * The test's own access to the real API server: an admin client for setting up and for reading what
 * the server stored, a tenant client (the built-in `edit` role in one namespace), and ServiceAccount
 * tokens issued by TokenRequest for the webhook's processes.
 */
import { join } from "node:path";
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type KubernetesObject,
  type V1Namespace,
} from "@kubernetes/client-node";
import { restartApiServer, TENANT_TOKEN, TENANT_USER } from "../../support/control-plane/control-plane.js";
import { environment } from "./environment.js";
import { waitFor } from "./wait.js";
import { writeFileSync } from "node:fs";

export const ENABLED = { "ecr-webhook.io/inject": "enabled" } as const;

function loadConfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

export interface TestCluster {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly coordination: CoordinationV1Api;
  readonly registration: AdmissionregistrationV1Api;
  readonly rbac: RbacAuthorizationV1Api;
  readonly objects: KubernetesObjectApi;
  readonly controllers: boolean;
  readonly runDir: string;
  readonly canRestart: boolean;
  /** Creates a namespace and waits for its default ServiceAccount (or creates it without controllers). */
  createNamespace(
    name: string,
    meta?: { labels?: Record<string, string>; annotations?: Record<string, string> },
  ): Promise<V1Namespace>;
  /** Sets (string) or removes (null) labels, as `kubectl label ns` does. */
  labelNamespace(name: string, labels: Record<string, string | null>): Promise<void>;
  /** A kubeconfig file authenticating with a TokenRequest token of the ServiceAccount. */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /** A client for the tenant user, who has the built-in `edit` role in `namespace`. */
  tenant(namespace: string): Promise<KubeConfig>;
  /** Creates or replaces each object (apply without the three-way merge). */
  apply(objects: readonly KubernetesObject[]): Promise<void>;
  restartApiServer(): Promise<void>;
}

let counter = 0;

export function connect(): TestCluster {
  const env = environment();
  if (!env.adminKubeconfig || !env.runDir) throw new Error("no e2e control plane");
  const runDir = env.runDir;
  const kc = loadConfig(env.adminKubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const kubeconfigWith = (token: string, file: string) => {
    const copy = loadConfig(env.adminKubeconfig!);
    const exported = JSON.parse(copy.exportConfig());
    exported.users = [{ name: "user", user: { token } }];
    exported.contexts = [{ name: "e2e", context: { cluster: exported.clusters[0].name, user: "user" } }];
    exported["current-context"] = "e2e";
    writeFileSync(file, JSON.stringify(exported), { mode: 0o600 });
    return file;
  };
  return {
    kc,
    core,
    apps: kc.makeApiClient(AppsV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    registration: kc.makeApiClient(AdmissionregistrationV1Api),
    rbac,
    objects,
    controllers: env.controllers,
    runDir,
    canRestart: env.controlPlaneDir !== undefined,

    async createNamespace(name, meta = {}) {
      const ns = await core.createNamespace({ body: { metadata: { name, ...meta } } });
      if (env.controllers) {
        await waitFor(
          `ServiceAccount ${name}/default`,
          () => core.readNamespacedServiceAccount({ namespace: name, name: "default" }),
          () => true,
        );
      } else {
        await core.createNamespacedServiceAccount({
          namespace: name,
          body: { metadata: { name: "default" } },
        });
      }
      return ns;
    },

    async labelNamespace(name, labels) {
      await core.patchNamespace(
        { name, body: { metadata: { labels } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    },

    async serviceAccountKubeconfig(namespace, name) {
      const request = await core.createNamespacedServiceAccountToken({
        namespace,
        name,
        body: { spec: { expirationSeconds: 3 * 3600, audiences: [] } },
      });
      return kubeconfigWith(
        request.status?.token ?? "",
        join(runDir, `${namespace}-${name}-${++counter}.kubeconfig`),
      );
    },

    async tenant(namespace) {
      await rbac.createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name: "tenant-edit" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
          subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: TENANT_USER }],
        },
      });
      const tenant = loadConfig(kubeconfigWith(TENANT_TOKEN, join(runDir, `tenant-${++counter}.kubeconfig`)));
      // RBAC changes reach the authorizer's cache a moment after they are stored.
      const reviews = tenant.makeApiClient(AuthorizationV1Api);
      await waitFor(
        `the tenant's edit role in ${namespace}`,
        () =>
          reviews.createSelfSubjectAccessReview({
            body: { spec: { resourceAttributes: { namespace, verb: "create", resource: "secrets" } } },
          }),
        (review) => review.status?.allowed === true,
      );
      return tenant;
    },

    async apply(list) {
      for (const object of list) {
        try {
          await objects.create(object);
        } catch (error) {
          if ((error as { code?: number }).code !== 409) throw error;
          // A Job's pod template is immutable; an existing one is as good as applied.
          if (object.kind === "Job") continue;
          const current = await objects.read(object as KubernetesObject & { metadata: { name: string } });
          await objects.replace({
            ...object,
            metadata: { ...object.metadata, resourceVersion: current.metadata?.resourceVersion },
          });
        }
      }
    },

    async restartApiServer() {
      if (!env.controlPlaneDir) throw new Error("the API server was not started by this suite");
      await restartApiServer(env.controlPlaneDir);
    },
  };
}

/** A name no earlier run or test used: namespaces of a deleted test may still be terminating. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}

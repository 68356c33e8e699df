/**
 * The deployment manifests (webhook-config/, certs-job/) and the Dockerfile, checked property by
 * property against each other and against the flags in src/config/flags.ts, so that an edit cannot
 * silently drop a hardening setting, widen RBAC, or let two files disagree on a name.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/config/duration.js";
import { FLAGS } from "../../src/config/flags.js";
import { LEASE_NAME } from "../../src/controller/controller.js";
import {
  build,
  dockerStages,
  entryPath,
  isDirectory,
  isFile,
  type K8sObject,
  objectsInFile,
  one,
  parseYamlText,
  readKustomization,
  readText,
  ROOT,
  yamlFiles,
} from "./load.js";

function flagDefault(name: string): string {
  const value = FLAGS.find((flag) => flag.name === name)?.default;
  if (value === undefined) throw new Error(`flag --${name} has no default in FLAGS`);
  return value;
}

const SECRET_NAME = flagDefault("secret-name");
const [LABEL_KEY] = flagDefault("namespace-label").split("=") as [string, string];
const ADMISSION_DEADLINE_MS = parseDuration(flagDefault("admission-deadline"));
const WEBHOOK_PORT = Number(flagDefault("port"));
const METRICS_PORT = Number(flagDefault("metrics-port"));
const PACKAGE_VERSION = (JSON.parse(readText("package.json")) as { version: string }).version;

const cache = new Map<string, K8sObject[]>();
function built(dir: string): K8sObject[] {
  if (!cache.has(dir)) cache.set(dir, build(dir));
  return cache.get(dir)!;
}
const webhookObjects = (): K8sObject[] => built("webhook-config");
const certsObjects = (): K8sObject[] => built("certs-job");
const certManagerObjects = (): K8sObject[] => built("webhook-config/overlays/cert-manager");

const namespace = (): K8sObject => one(webhookObjects(), "Namespace");
const deployment = (): K8sObject => one(webhookObjects(), "Deployment", "ecr-webhook");
const service = (): K8sObject => one(webhookObjects(), "Service", "ecr-webhook");
const webhookConfig = (): K8sObject => one(webhookObjects(), "MutatingWebhookConfiguration");
const certsJob = (): K8sObject => one(certsObjects(), "Job", "ecr-webhook-certs");
const renewCronJob = (): K8sObject => one(certsObjects(), "CronJob", "ecr-webhook-certs-renew");

function onlyContainer(podSpec: any): any {
  expect(podSpec.containers).toHaveLength(1);
  return podSpec.containers[0];
}
const webhookContainer = (): any => onlyContainer(deployment().spec.template.spec);
const podLabels = (): Record<string, string> => deployment().spec.template.metadata.labels;
const tlsVolume = (): any => {
  const volumes = deployment().spec.template.spec.volumes.filter((v: any) => v.secret);
  expect(volumes).toHaveLength(1);
  return volumes[0];
};
const tlsSecretName = (): string => tlsVolume().secret.secretName;

/** `--key=value` arguments as a map; the first argument is the command. */
function flagArgs(args: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const arg of args.slice(1)) {
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match) throw new Error(`argument ${arg} is not of the form --flag=value`);
    out.set(match[1]!, match[2]!);
  }
  return out;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

// ─── kustomizations ──────────────────────────────────────────────────────────────────────────────

const KUSTOMIZATIONS: [dir: string, kind: string, unlisted: string[]][] = [
  ["webhook-config", "Kustomization", ["webhook-config/aws-credentials.example.yaml"]],
  ["webhook-config/base", "Kustomization", []],
  ["webhook-config/components/cert-manager", "Component", []],
  ["webhook-config/overlays/cert-manager", "Kustomization", []],
  ["webhook-config/components/admission-policy", "Component", []],
  ["webhook-config/overlays/admission-policy", "Kustomization", []],
  ["webhook-config/components/metrics-network-policy", "Component", []],
  ["webhook-config/overlays/network-policy", "Kustomization", []],
  ["webhook-config/components/monitoring", "Component", []],
  ["webhook-config/overlays/monitoring", "Kustomization", []],
  ["certs-job", "Kustomization", []],
];

function listedPaths(dir: string): string[] {
  const k = readKustomization(dir);
  return [...k.resources, ...k.components, ...k.patchFiles].map((entry) => entryPath(dir, entry));
}

const WEBHOOK_CONFIG_OBJECTS = [
  "Namespace/ecr-webhook",
  "ServiceAccount/ecr-webhook/ecr-webhook",
  "ClusterRole/ecr-webhook",
  "ClusterRoleBinding/ecr-webhook",
  "Role/ecr-webhook/ecr-webhook-leader-election",
  "RoleBinding/ecr-webhook/ecr-webhook-leader-election",
  "Deployment/ecr-webhook/ecr-webhook",
  "PodDisruptionBudget/ecr-webhook/ecr-webhook",
  "Service/ecr-webhook/ecr-webhook",
  "MutatingWebhookConfiguration/ecr-webhook",
];

const EXPECTED: [dir: string, objects: string[]][] = [
  ["webhook-config", WEBHOOK_CONFIG_OBJECTS],
  [
    "certs-job",
    [
      "ServiceAccount/ecr-webhook/ecr-webhook-certs",
      "Role/ecr-webhook/ecr-webhook-certs",
      "RoleBinding/ecr-webhook/ecr-webhook-certs",
      "ClusterRole/ecr-webhook-certs",
      "ClusterRoleBinding/ecr-webhook-certs",
      "Job/ecr-webhook/ecr-webhook-certs",
      "CronJob/ecr-webhook/ecr-webhook-certs-renew",
    ],
  ],
  [
    "webhook-config/overlays/cert-manager",
    [
      ...WEBHOOK_CONFIG_OBJECTS,
      "Issuer/ecr-webhook/ecr-webhook-selfsigned",
      "Certificate/ecr-webhook/ecr-webhook-ca",
      "Issuer/ecr-webhook/ecr-webhook-ca",
      "Certificate/ecr-webhook/ecr-webhook-tls",
    ],
  ],
  [
    "webhook-config/overlays/admission-policy",
    [
      ...WEBHOOK_CONFIG_OBJECTS,
      "ValidatingAdmissionPolicy/ecr-webhook-fence",
      "ValidatingAdmissionPolicyBinding/ecr-webhook-fence",
    ],
  ],
  [
    "webhook-config/overlays/network-policy",
    [...WEBHOOK_CONFIG_OBJECTS, "NetworkPolicy/ecr-webhook/ecr-webhook"],
  ],
  [
    "webhook-config/overlays/monitoring",
    [
      ...WEBHOOK_CONFIG_OBJECTS,
      "ServiceMonitor/ecr-webhook/ecr-webhook",
      "PrometheusRule/ecr-webhook/ecr-webhook",
      "ConfigMap/ecr-webhook/ecr-webhook-dashboard",
    ],
  ],
];
const key = (o: K8sObject): string =>
  [o.kind, o.metadata.namespace, o.metadata.name].filter((part) => part !== undefined).join("/");

describe("kustomizations", () => {
  it.each(KUSTOMIZATIONS)("%s is a %s of the right apiVersion", (dir, kind) => {
    const k = readKustomization(dir);
    expect(k.kind).toBe(kind);
    expect(k.apiVersion).toBe(
      kind === "Component" ? "kustomize.config.k8s.io/v1alpha1" : "kustomize.config.k8s.io/v1beta1",
    );
  });

  it.each(KUSTOMIZATIONS)("every entry %s lists exists", (dir) => {
    const listed = listedPaths(dir);
    expect(listed.length).toBeGreaterThan(0);
    for (const path of listed) {
      const ok = isFile(path) || (isDirectory(path) && isFile(`${path}/kustomization.yaml`));
      expect(ok, `${dir} lists ${path}, which is neither a file nor a kustomization`).toBe(true);
    }
  });

  it.each(KUSTOMIZATIONS)("every YAML file directly in %s is listed", (dir, _kind, unlisted) => {
    const listed = new Set(listedPaths(dir));
    const files = yamlFiles(dir, false).filter((path) => !path.endsWith("/kustomization.yaml"));
    expect(files.filter((path) => !listed.has(path))).toEqual(unlisted);
  });

  it("every YAML file under webhook-config and certs-job is a kustomization, listed, or the example", () => {
    const files = [...yamlFiles("webhook-config", true), ...yamlFiles("certs-job", true)];
    expect(files.length).toBeGreaterThanOrEqual(24);
    const listed = new Set(KUSTOMIZATIONS.flatMap(([dir]) => listedPaths(dir)));
    const stray = files.filter(
      (path) => !path.endsWith("/kustomization.yaml") && !listed.has(path) && !path.endsWith(".example.yaml"),
    );
    expect(stray).toEqual([]);
  });

  it("the cert-manager overlay builds on base/ and the component without a kustomize cycle", () => {
    const k = readKustomization("webhook-config/overlays/cert-manager");
    expect(k.resources).toEqual(["../../base"]);
    expect(k.components).toEqual(["../../components/cert-manager"]);
    // kustomize refuses a resource directory that contains the overlay ("cycle detected").
    for (const entry of [...k.resources, ...k.components]) {
      const target = `${entryPath("webhook-config/overlays/cert-manager", entry)}/`;
      expect("webhook-config/overlays/cert-manager/".startsWith(target)).toBe(false);
    }
  });

  it.each(EXPECTED)("kubectl apply -k %s creates exactly the expected objects", (dir, objects) => {
    expect(built(dir).map(key).sort()).toEqual([...objects].sort());
  });
});

const hasKubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;

describe.skipIf(!hasKubectl)("kubectl kustomize (real kustomize, when kubectl is installed)", () => {
  it.each(EXPECTED)("builds %s into exactly what these tests check", (dir) => {
    const out = spawnSync("kubectl", ["kustomize", dir], { cwd: ROOT, encoding: "utf8" });
    expect(out.status, out.stderr).toBe(0);
    const real = parseYamlText(out.stdout, `kubectl kustomize ${dir}`) as K8sObject[];
    const byKey = (objects: K8sObject[]): Record<string, K8sObject> =>
      Object.fromEntries(objects.map((o) => [key(o), o]));
    expect(real.length).toBe(built(dir).length);
    expect(byKey(real)).toEqual(byKey(built(dir)));
  });
});

// ─── RBAC ────────────────────────────────────────────────────────────────────────────────────────

/** Every Role and ClusterRole in every YAML file, applied or not. */
function allRoles(): K8sObject[] {
  return [...yamlFiles("webhook-config", true), ...yamlFiles("certs-job", true)]
    .flatMap((path) => objectsInFile(path))
    .filter((o) => o.kind === "Role" || o.kind === "ClusterRole");
}

const allRules = (): any[] => allRoles().flatMap((role) => role.rules ?? []);

/** One line per (group, resource, verb), with its resourceNames: "/secrets get [ecr-pull-secret]". */
function grants(role: K8sObject): string[] {
  return (role.rules ?? [])
    .flatMap((rule: any) => {
      const names = rule.resourceNames ? ` [${[...rule.resourceNames].sort().join(",")}]` : "";
      return (rule.apiGroups as string[]).flatMap((group) =>
        (rule.resources as string[]).flatMap((resource) =>
          (rule.verbs as string[]).map((verb) => `${group}/${resource} ${verb}${names}`),
        ),
      );
    })
    .sort();
}

const touchesSecrets = (rule: any): boolean =>
  (rule.apiGroups ?? []).some((g: string) => g === "" || g === "*") &&
  (rule.resources ?? []).some((r: string) => r === "secrets" || r === "*" || r.startsWith("secrets/"));

/** A setting of the webhook as the Deployment gives it: flag argument, else env twin, else default. */
function effectiveSetting(name: string): string {
  const container = webhookContainer();
  const fromArgs = flagArgs(container.args).get(name);
  const envVar = `ECR_WEBHOOK_${name.toUpperCase().replace(/-/g, "_")}`;
  const fromEnv = (container.env ?? []).find((e: any) => e.name === envVar)?.value;
  return fromArgs ?? fromEnv ?? flagDefault(name);
}

const GRANTS: [role: string, get: () => K8sObject, expected: () => string[]][] = [
  [
    "ClusterRole ecr-webhook",
    () => one(webhookObjects(), "ClusterRole", "ecr-webhook"),
    () => {
      const secret = effectiveSetting("secret-name");
      return [
        "/namespaces get",
        "/namespaces list",
        "/namespaces watch",
        "/serviceaccounts get",
        "/serviceaccounts list",
        "/serviceaccounts patch",
        "/secrets create",
        `/secrets get [${secret}]`,
        `/secrets list [${secret}]`,
        `/secrets watch [${secret}]`,
        `/secrets update [${secret}]`,
        `/secrets delete [${secret}]`,
        "/events create",
      ];
    },
  ],
  [
    "Role ecr-webhook-leader-election",
    () => one(webhookObjects(), "Role", "ecr-webhook-leader-election"),
    () => [
      "coordination.k8s.io/leases create",
      `coordination.k8s.io/leases get [${LEASE_NAME}]`,
      `coordination.k8s.io/leases update [${LEASE_NAME}]`,
    ],
  ],
  [
    "Role ecr-webhook-certs",
    () => one(certsObjects(), "Role", "ecr-webhook-certs"),
    () => ["/secrets create", `/secrets get [${tlsSecretName()}]`, `/secrets update [${tlsSecretName()}]`],
  ],
  [
    "ClusterRole ecr-webhook-certs",
    () => one(certsObjects(), "ClusterRole", "ecr-webhook-certs"),
    () => [
      `admissionregistration.k8s.io/mutatingwebhookconfigurations get [${webhookConfig().metadata.name}]`,
      `admissionregistration.k8s.io/mutatingwebhookconfigurations patch [${webhookConfig().metadata.name}]`,
    ],
  ],
];

const BINDINGS = [
  { kind: "ClusterRoleBinding", name: "ecr-webhook", role: "ClusterRole/ecr-webhook", sa: "ecr-webhook" },
  {
    kind: "RoleBinding",
    name: "ecr-webhook-leader-election",
    role: "Role/ecr-webhook-leader-election",
    sa: "ecr-webhook",
  },
  {
    kind: "ClusterRoleBinding",
    name: "ecr-webhook-certs",
    role: "ClusterRole/ecr-webhook-certs",
    sa: "ecr-webhook-certs",
  },
  { kind: "RoleBinding", name: "ecr-webhook-certs", role: "Role/ecr-webhook-certs", sa: "ecr-webhook-certs" },
];

describe("RBAC", () => {
  it("the YAML files hold exactly the four roles checked below", () => {
    const names = allRoles().map((role) => `${role.kind}/${role.metadata.name}`);
    expect(names.sort()).toEqual(GRANTS.map(([role]) => role.replace(" ", "/")).sort());
  });

  it("no role grants deletecollection or * on Secrets, and list/watch only of the pull Secret by name", () => {
    const secretRules = allRules().filter(touchesSecrets);
    expect(secretRules.length).toBeGreaterThanOrEqual(4);
    for (const rule of secretRules) {
      expect(rule.verbs).not.toEqual(expect.arrayContaining(["deletecollection"]));
      expect(rule.verbs).not.toEqual(expect.arrayContaining(["*"]));
      // The API server authorizes a list or watch selecting metadata.name=<name> against resourceNames.
      if (rule.verbs.includes("list") || rule.verbs.includes("watch"))
        expect(rule.resourceNames).toEqual([SECRET_NAME]);
    }
  });

  it("no role uses a wildcard group, resource or verb", () => {
    const rules = allRules();
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const rule of rules) {
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain("*");
    }
  });

  it("Secret access other than create always names the Secret", () => {
    const rules = allRules().filter(touchesSecrets);
    expect(rules.length).toBeGreaterThanOrEqual(4);
    for (const rule of rules) {
      if (rule.verbs.some((verb: string) => verb !== "create")) {
        expect(rule.resourceNames?.length ?? 0, JSON.stringify(rule)).toBeGreaterThan(0);
      }
    }
  });

  it("create is never restricted by resourceNames (the API server could never authorize it)", () => {
    const creates = allRules().filter((rule) => rule.verbs.includes("create"));
    expect(creates.length).toBeGreaterThanOrEqual(4);
    for (const rule of creates) expect(rule.resourceNames, JSON.stringify(rule)).toBeUndefined();
  });

  it(`the webhook's Secret rules name ${SECRET_NAME}, the --secret-name it runs with`, () => {
    const rules = one(webhookObjects(), "ClusterRole", "ecr-webhook").rules.filter(touchesSecrets);
    expect(rules).toHaveLength(2);
    expect(effectiveSetting("secret-name")).toBe(SECRET_NAME);
    const named = rules.filter((rule: any) => rule.resourceNames);
    expect(named).toHaveLength(1);
    expect(named[0].resourceNames).toEqual(["ecr-pull-secret"]);
    expect([...named[0].verbs].sort()).toEqual(["delete", "get", "list", "update", "watch"]);
  });

  it("Leases appear only in a namespaced Role in the webhook's namespace", () => {
    const holders = allRoles().filter((role) =>
      (role.rules ?? []).some((rule: any) => rule.resources.includes("leases")),
    );
    expect(holders).toHaveLength(1);
    expect(holders[0]!.kind).toBe("Role");
    expect(holders[0]!.metadata.namespace).toBe(namespace().metadata.name);
  });

  it.each(GRANTS)("%s grants exactly what it needs", (_role, get, expected) => {
    expect(grants(get())).toEqual(expected().sort());
  });

  it("the builds hold exactly the four bindings checked below", () => {
    const bindings = [...webhookObjects(), ...certsObjects()].filter((o) => o.kind.endsWith("Binding"));
    expect(bindings.map((b) => `${b.kind}/${b.metadata.name}`).sort()).toEqual(
      BINDINGS.map((b) => `${b.kind}/${b.name}`).sort(),
    );
  });

  it.each(BINDINGS)("$kind $name binds $role to ServiceAccount $sa", ({ kind, name, role, sa }) => {
    const objects = [...webhookObjects(), ...certsObjects()];
    const binding = one(objects, kind, name);
    const [roleKind = "", roleName = ""] = role.split("/");
    expect(binding.roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: roleKind,
      name: roleName,
    });
    const target = one(objects, roleKind, roleName);
    expect(binding.metadata.namespace).toBe(target.metadata.namespace);
    const account = one(objects, "ServiceAccount", sa);
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: sa, namespace: account.metadata.namespace },
    ]);
    expect(account.metadata.namespace).toBe(namespace().metadata.name);
  });
});

// ─── Pods: the webhook Deployment and the certificate Job/CronJob ─────────────────────────────────

const POD_SPECS: [owner: string, podSpec: () => any][] = [
  ["Deployment ecr-webhook", () => deployment().spec.template.spec],
  ["Job ecr-webhook-certs", () => certsJob().spec.template.spec],
  ["CronJob ecr-webhook-certs-renew", () => renewCronJob().spec.jobTemplate.spec.template.spec],
];

const IMAGE = `ghcr.io/ecr-webhook/ecr-webhook:${PACKAGE_VERSION}`;

describe("every pod is hardened", () => {
  it.each(POD_SPECS)("%s: pod securityContext runs as non-root with RuntimeDefault seccomp", (_o, spec) => {
    const context = spec().securityContext;
    expect(context.runAsNonRoot).toBe(true);
    expect(context.runAsUser).toBeGreaterThan(0);
    expect(context.seccompProfile).toEqual({ type: "RuntimeDefault" });
  });

  it.each(POD_SPECS)("%s: container securityContext locks everything down", (_o, spec) => {
    const context = onlyContainer(spec()).securityContext;
    expect(context.runAsNonRoot).toBe(true);
    expect(context.readOnlyRootFilesystem).toBe(true);
    expect(context.allowPrivilegeEscalation).toBe(false);
    expect(context.privileged ?? false).toBe(false);
    expect(context.capabilities).toEqual({ drop: ["ALL"] });
    expect(context.seccompProfile).toEqual({ type: "RuntimeDefault" });
    expect(context.runAsUser ?? spec().securityContext.runAsUser).toBe(spec().securityContext.runAsUser);
  });

  it.each(POD_SPECS)("%s: no host namespaces", (_o, spec) => {
    expect(spec().hostNetwork ?? false).toBe(false);
    expect(spec().hostPID ?? false).toBe(false);
    expect(spec().hostIPC ?? false).toBe(false);
  });

  it.each(POD_SPECS)(`%s: runs ${IMAGE} (the tag is package.json's version)`, (_o, spec) => {
    expect(onlyContainer(spec()).image).toBe(IMAGE);
  });

  it.each(POD_SPECS)("%s: requests memory and limits it", (_o, spec) => {
    const resources = onlyContainer(spec()).resources;
    expect(resources.requests.memory).toMatch(/^\d+Mi$/);
    expect(resources.requests.cpu).toMatch(/^\d+m$/);
    expect(resources.limits.memory).toMatch(/^\d+Mi$/);
  });

  it.each(POD_SPECS)("%s: has a writable /tmp although the root filesystem is read-only", (_o, spec) => {
    const mount = onlyContainer(spec()).volumeMounts.find((m: any) => m.mountPath === "/tmp");
    expect(mount).toBeDefined();
    expect(spec().volumes.find((v: any) => v.name === mount.name).emptyDir).toBeDefined();
  });

  it("the webhook's namespace enforces the restricted Pod Security Standard and is not opted in", () => {
    const labels = namespace().metadata.labels;
    expect(labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(labels[LABEL_KEY]).toBeUndefined();
  });
});

function port(name: string): any {
  const ports = webhookContainer().ports.filter((p: any) => p.name === name);
  expect(ports).toHaveLength(1);
  return ports[0];
}

function tlsMount(): any {
  const mounts = webhookContainer().volumeMounts.filter((m: any) => m.name === tlsVolume().name);
  expect(mounts).toHaveLength(1);
  return mounts[0];
}

function expectHttpsProbe(probe: any, path: string): void {
  expect(probe.httpGet.scheme).toBe("HTTPS");
  expect(probe.httpGet.path).toBe(path);
  expect([port("webhook").name, WEBHOOK_PORT]).toContain(probe.httpGet.port);
}

const DEPLOYMENT_CHECKS: [property: string, check: () => void][] = [
  ["runs at least two replicas", () => expect(deployment().spec.replicas).toBeGreaterThanOrEqual(2)],
  ["lives in the webhook's namespace", () => expect(deployment().metadata.namespace).toBe("ecr-webhook")],
  [
    "selects its own pod template",
    () => expect(selects(deployment().spec.selector.matchLabels, podLabels())).toBe(true),
  ],
  [
    "spreads replicas over nodes without blocking scheduling",
    () => {
      const spread = deployment().spec.template.spec.topologySpreadConstraints.filter(
        (c: any) => c.topologyKey === "kubernetes.io/hostname",
      );
      expect(spread).toHaveLength(1);
      expect(spread[0].whenUnsatisfiable).toBe("ScheduleAnyway");
      expect(spread[0].maxSkew).toBe(1);
      expect(selects(spread[0].labelSelector.matchLabels, podLabels())).toBe(true);
    },
  ],
  [
    "prefers replicas on different nodes (pod anti-affinity)",
    () => {
      const terms =
        deployment().spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.filter(
          (t: any) => t.podAffinityTerm.topologyKey === "kubernetes.io/hostname",
        );
      expect(terms).toHaveLength(1);
      expect(selects(terms[0].podAffinityTerm.labelSelector.matchLabels, podLabels())).toBe(true);
    },
  ],
  [
    "keeps every replica available during a rollout",
    () => expect(deployment().spec.strategy.rollingUpdate.maxUnavailable).toBe(0),
  ],
  [
    "runs as ServiceAccount ecr-webhook",
    () => expect(deployment().spec.template.spec.serviceAccountName).toBe("ecr-webhook"),
  ],
  [
    "runs `serve` with flags that serve accepts",
    () => {
      const args: string[] = webhookContainer().args;
      expect(args[0]).toBe("serve");
      const flags = [...flagArgs(args).keys()];
      expect(flags.length).toBeGreaterThanOrEqual(2);
      for (const flag of flags) {
        expect(FLAGS.find((f) => f.name === flag)?.commands, flag).toContain("serve");
      }
    },
  ],
  [
    "serves HTTPS on the --port default as port `webhook`",
    () => expect(port("webhook")).toEqual({ name: "webhook", containerPort: WEBHOOK_PORT, protocol: "TCP" }),
  ],
  [
    "serves metrics on the --metrics-port default as port `metrics`",
    () => expect(port("metrics")).toEqual({ name: "metrics", containerPort: METRICS_PORT, protocol: "TCP" }),
  ],
  ["is ready on HTTPS GET /readyz", () => expectHttpsProbe(webhookContainer().readinessProbe, "/readyz")],
  ["is alive on HTTPS GET /healthz", () => expectHttpsProbe(webhookContainer().livenessProbe, "/healthz")],
  [
    "requests 50m CPU and 64Mi memory, and limits memory to 192Mi",
    () => {
      const resources = webhookContainer().resources;
      expect(resources.requests).toEqual({ cpu: "50m", memory: "64Mi" });
      expect(resources.limits.memory).toBe("192Mi");
    },
  ],
  [
    "runs as uid 65532 (the image's nonroot user)",
    () => expect(deployment().spec.template.spec.securityContext.runAsUser).toBe(65532),
  ],
  [
    "reads POD_NAMESPACE from the downward API",
    () => {
      const env = webhookContainer().env.filter((e: any) => e.name === "POD_NAMESPACE");
      expect(env).toEqual([
        { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      ]);
    },
  ],
  [
    "takes AWS credentials from the optional Secret of aws-credentials.example.yaml",
    () => {
      const [example] = objectsInFile("webhook-config/aws-credentials.example.yaml");
      expect(webhookContainer().envFrom).toContainEqual({
        secretRef: { name: example!.metadata.name, optional: true },
      });
      expect(example!.metadata.name).toBe("ecr-webhook-aws");
    },
  ],
  [
    "mounts the TLS Secret ecr-webhook-tls read-only, as a directory, not with subPath",
    () => {
      expect(tlsSecretName()).toBe("ecr-webhook-tls");
      expect(tlsVolume().secret.optional ?? false).toBe(false);
      expect(tlsMount().readOnly).toBe(true);
      expect(tlsMount().subPath).toBeUndefined();
      expect(tlsMount().subPathExpr).toBeUndefined();
      expect(tlsMount().mountPath).toBe("/etc/ecr-webhook/tls");
    },
  ],
  [
    "points --tls-cert-file and --tls-key-file at the TLS mount",
    () => {
      const flags = flagArgs(webhookContainer().args);
      expect(flags.get("tls-cert-file")).toBe(`${tlsMount().mountPath}/tls.crt`);
      expect(flags.get("tls-key-file")).toBe(`${tlsMount().mountPath}/tls.key`);
    },
  ],
  [
    "has time to shut down: the shutdown delay, then a review's longest wait, with room to spare",
    () => {
      const spec = deployment().spec.template.spec;
      const delayMs = parseDuration(effectiveSetting("shutdown-delay"))!;
      const reviewMs = Math.max(...webhookConfig().webhooks.map((w: any) => w.timeoutSeconds * 1000));
      expect(delayMs).toBeGreaterThan(0);
      expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(delayMs + reviewMs + 5_000);
      // The process itself keeps serving after SIGTERM; a preStop sleep would only delay that.
      expect(webhookContainer().lifecycle?.preStop).toBeUndefined();
    },
  ],
  [
    "is scraped by Prometheus on the metrics port",
    () => {
      const annotations = deployment().spec.template.metadata.annotations;
      expect(annotations["prometheus.io/scrape"]).toBe("true");
      expect(annotations["prometheus.io/port"]).toBe(String(METRICS_PORT));
    },
  ],
];

describe("Deployment ecr-webhook", () => {
  it.each(DEPLOYMENT_CHECKS)("%s", (_property, check) => check());
});

const certsPodLabels = (): Record<string, string>[] => [
  certsJob().spec.template.metadata.labels,
  renewCronJob().spec.jobTemplate.spec.template.metadata.labels,
];

describe("PodDisruptionBudget and Service", () => {
  it("the PDB keeps one replica and fewer than all", () => {
    const pdb = one(webhookObjects(), "PodDisruptionBudget");
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment().spec.replicas);
    expect(pdb.metadata.namespace).toBe(deployment().metadata.namespace);
  });

  it.each([
    ["PodDisruptionBudget", () => one(webhookObjects(), "PodDisruptionBudget").spec.selector.matchLabels],
    ["Service", () => service().spec.selector],
  ] as [string, () => Record<string, string>][])(
    "the %s selects the webhook pods and not the certs pods",
    (_kind, selector) => {
      expect(Object.keys(selector()).length).toBeGreaterThan(0);
      expect(selects(selector(), podLabels())).toBe(true);
      for (const labels of certsPodLabels()) expect(selects(selector(), labels)).toBe(false);
    },
  );

  it("the Service sends 443 to the webhook port", () => {
    const https = service().spec.ports.filter((p: any) => p.port === 443);
    expect(https).toHaveLength(1);
    expect(https[0].targetPort).toBe("webhook");
    expect(port(https[0].targetPort).containerPort).toBe(WEBHOOK_PORT);
    expect(service().metadata.namespace).toBe(deployment().metadata.namespace);
  });

  it("the Service exposes the metrics port", () => {
    const metrics = service().spec.ports.filter((p: any) => p.port === METRICS_PORT);
    expect(metrics).toHaveLength(1);
    expect(port(metrics[0].targetPort).containerPort).toBe(METRICS_PORT);
  });
});

// ─── monitoring component (its alert rules: test/monitoring) ─────────────────────────────────────

const monitoringObjects = (): K8sObject[] => built("webhook-config/overlays/monitoring");
const serviceMonitor = (): K8sObject => one(monitoringObjects(), "ServiceMonitor", "ecr-webhook");

describe("monitoring overlay", () => {
  it("adds the ServiceMonitor, the PrometheusRule and the dashboard, and leaves the base as it is", () => {
    const added = ["ServiceMonitor", "PrometheusRule", "ConfigMap"];
    expect(monitoringObjects().filter((o) => !added.includes(o.kind))).toEqual(webhookObjects());
  });

  it("the ServiceMonitor selects the webhook's Service in the webhook's namespace", () => {
    expect(selects(serviceMonitor().spec.selector.matchLabels, service().metadata.labels)).toBe(true);
    expect(serviceMonitor().spec.namespaceSelector.matchNames).toEqual([service().metadata.namespace]);
    expect(serviceMonitor().metadata.namespace).toBe(service().metadata.namespace);
  });

  it("the ServiceMonitor scrapes /metrics every 30s through the Service's metrics port, by name", () => {
    const endpoints = serviceMonitor().spec.endpoints;
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0]).toMatchObject({ port: "metrics", path: "/metrics", interval: "30s" });
    const servicePorts = service().spec.ports.filter((p: any) => p.name === endpoints[0].port);
    expect(servicePorts).toHaveLength(1);
    expect(servicePorts[0].port).toBe(METRICS_PORT);
    expect(port(servicePorts[0].targetPort).containerPort).toBe(METRICS_PORT);
  });

  it("the PrometheusRule lives in the webhook's namespace and holds its alerts", () => {
    const rule = one(monitoringObjects(), "PrometheusRule", "ecr-webhook");
    expect(rule.metadata.namespace).toBe(namespace().metadata.name);
    const alerts = rule.spec.groups.flatMap((group: any) => group.rules.map((r: any) => r.alert));
    expect(alerts).toEqual(expect.arrayContaining(["EcrWebhookNoLeader", "EcrWebhookRotationStale"]));
  });
});

// ─── MutatingWebhookConfiguration ────────────────────────────────────────────────────────────────

const WEBHOOK_NAMES = ["pods.ecr-webhook.io", "serviceaccounts.ecr-webhook.io"];

function namedWebhook(name: string): any {
  const hits = webhookConfig().webhooks.filter((w: any) => w.name === name);
  expect(hits).toHaveLength(1);
  return hits[0];
}

const WEBHOOK_CHECKS: [property: string, check: (webhook: any) => void][] = [
  ["fails open (failurePolicy Ignore)", (w) => expect(w.failurePolicy).toBe("Ignore")],
  ["declares side effects except on dry runs", (w) => expect(w.sideEffects).toBe("NoneOnDryRun")],
  [
    "times out after the admission deadline, at most 30 s",
    (w) => {
      const deadlineMs = parseDuration(effectiveSetting("admission-deadline"));
      expect(deadlineMs).toBe(ADMISSION_DEADLINE_MS);
      expect(Number.isInteger(w.timeoutSeconds)).toBe(true);
      expect(w.timeoutSeconds * 1000).toBeGreaterThan(deadlineMs!);
      expect(w.timeoutSeconds).toBeLessThanOrEqual(30);
    },
  ],
  [
    "is reinvoked when a later webhook mutates (IfNeeded)",
    (w) => expect(w.reinvocationPolicy).toBe("IfNeeded"),
  ],
  ["speaks admission.k8s.io/v1 only", (w) => expect(w.admissionReviewVersions).toEqual(["v1"])],
  ["matches equivalent API versions", (w) => expect(w.matchPolicy).toBe("Equivalent")],
  [
    "sees only CREATE of core v1 namespaced objects",
    (w) => {
      expect(w.rules.length).toBeGreaterThan(0);
      for (const rule of w.rules) {
        expect(rule.operations).toEqual(["CREATE"]);
        expect(rule.apiGroups).toEqual([""]);
        expect(rule.apiVersions).toEqual(["v1"]);
        expect(rule.scope ?? "Namespaced").toBe("Namespaced");
      }
    },
  ],
  [
    "calls the Service at /mutate",
    (w) => {
      expect(w.clientConfig.url).toBeUndefined();
      expect(w.clientConfig.service).toEqual({
        name: service().metadata.name,
        namespace: service().metadata.namespace,
        path: "/mutate",
        port: 443,
      });
    },
  ],
  ["leaves caBundle to the certs Job or cert-manager", (w) => expect(w.clientConfig.caBundle ?? "").toBe("")],
  [
    "only sees namespaces with the opt-in label (--namespace-label)",
    (w) => {
      const [key = "", value] = effectiveSetting("namespace-label").split("=");
      expect(w.namespaceSelector.matchLabels).toEqual({ [key]: value });
    },
  ],
  [
    "never sees kube-system or the webhook's own namespace",
    (w) => {
      const notIn = w.namespaceSelector.matchExpressions.filter(
        (e: any) => e.key === "kubernetes.io/metadata.name" && e.operator === "NotIn",
      );
      expect(notIn).toHaveLength(1);
      expect(notIn[0].values).toEqual(expect.arrayContaining(["kube-system", namespace().metadata.name]));
    },
  ],
  [
    "never sees the webhook's own namespace by its label either, which survives a rename",
    (w) => {
      expect(w.namespaceSelector.matchExpressions).toContainEqual({
        key: "ecr-webhook.io/exclude",
        operator: "DoesNotExist",
      });
      expect(namespace().metadata.labels["ecr-webhook.io/exclude"]).toBe("true");
    },
  ],
];

describe("MutatingWebhookConfiguration ecr-webhook", () => {
  it("holds the pods and serviceaccounts webhooks", () => {
    expect(webhookConfig().metadata.name).toBe("ecr-webhook");
    expect(
      webhookConfig()
        .webhooks.map((w: any) => w.name)
        .sort(),
    ).toEqual(WEBHOOK_NAMES);
  });

  it("the default admission deadline is a duration", () => {
    expect(ADMISSION_DEADLINE_MS).toBeGreaterThan(0);
  });

  it("the rules cover exactly pods and serviceaccounts", () => {
    const resources = webhookConfig().webhooks.flatMap((w: any) =>
      w.rules.flatMap((rule: any) => rule.resources),
    );
    expect(resources.sort()).toEqual(["pods", "serviceaccounts"]);
    expect(namedWebhook("pods.ecr-webhook.io").rules[0].resources).toEqual(["pods"]);
    expect(namedWebhook("serviceaccounts.ecr-webhook.io").rules[0].resources).toEqual(["serviceaccounts"]);
  });

  it("the base carries no cert-manager annotation (certs-job owns caBundle there)", () => {
    expect(webhookConfig().metadata.annotations?.["cert-manager.io/inject-ca-from"]).toBeUndefined();
  });

  it.each(
    WEBHOOK_NAMES.flatMap((name) => WEBHOOK_CHECKS.map(([property, check]) => ({ name, property, check }))),
  )("$name $property", ({ name, check }) => check(namedWebhook(name)));
});

// ─── serving certificate: certs-job and cert-manager ─────────────────────────────────────────────

const CERT_JOBS: [owner: string, jobSpec: () => any][] = [
  ["Job ecr-webhook-certs", () => certsJob().spec],
  ["CronJob ecr-webhook-certs-renew", () => renewCronJob().spec.jobTemplate.spec],
];

function isWeekly(schedule: string): boolean {
  if (schedule === "@weekly") return true;
  const [minute = "", hour = "", day = "", month = "", weekday = "", ...rest] = schedule.trim().split(/\s+/);
  return (
    rest.length === 0 &&
    /^\d+$/.test(minute) &&
    /^\d+$/.test(hour) &&
    day === "*" &&
    month === "*" &&
    /^[0-7]$/.test(weekday)
  );
}

describe("certs-job", () => {
  it.each(CERT_JOBS)("%s runs `certs` for the names the other manifests use", (_o, jobSpec) => {
    const args: string[] = onlyContainer(jobSpec().template.spec).args;
    expect(args[0]).toBe("certs");
    const flags = flagArgs(args);
    expect(flags.get("namespace")).toBe(namespace().metadata.name);
    expect(flags.get("namespace")).toBe(service().metadata.namespace);
    expect(flags.get("service")).toBe(service().metadata.name);
    expect(flags.get("tls-secret")).toBe(tlsSecretName());
    expect(flags.get("webhook-config")).toBe(webhookConfig().metadata.name);
  });

  it.each(CERT_JOBS)("%s retries on failure and is cleaned up after 10 minutes", (_o, jobSpec) => {
    expect(jobSpec().template.spec.restartPolicy).toBe("OnFailure");
    expect(jobSpec().backoffLimit).toBe(6);
    expect(jobSpec().ttlSecondsAfterFinished).toBe(600);
  });

  it.each(CERT_JOBS)("%s runs as ServiceAccount ecr-webhook-certs", (_o, jobSpec) => {
    expect(jobSpec().template.spec.serviceAccountName).toBe("ecr-webhook-certs");
  });

  it("the Job and the CronJob live in the webhook's namespace", () => {
    expect(certsJob().metadata.namespace).toBe(namespace().metadata.name);
    expect(renewCronJob().metadata.namespace).toBe(namespace().metadata.name);
  });

  it("the CronJob runs the Job's command plus --renew-before=720h (30 days)", () => {
    const job: string[] = onlyContainer(certsJob().spec.template.spec).args;
    const renew: string[] = onlyContainer(renewCronJob().spec.jobTemplate.spec.template.spec).args;
    expect(job).toHaveLength(5);
    expect(flagArgs(job).has("renew-before")).toBe(false);
    expect(renew).toEqual([...job, "--renew-before=720h"]);
    expect(parseDuration(flagArgs(renew).get("renew-before")!)).toBe(30 * 24 * 3_600_000);
  });

  it("the CronJob runs weekly and never twice at once", () => {
    expect(isWeekly(renewCronJob().spec.schedule)).toBe(true);
    expect(renewCronJob().spec.concurrencyPolicy).toBe("Forbid");
  });

  it("the schedule check itself rejects a daily or malformed schedule", () => {
    expect(isWeekly("17 3 * * 1")).toBe(true);
    expect(isWeekly("17 3 * * *")).toBe(false);
    expect(isWeekly("17 3 1 * 1")).toBe(false);
    expect(isWeekly("@daily")).toBe(false);
  });
});

const certificate = (): K8sObject => one(certManagerObjects(), "Certificate", "ecr-webhook-tls");

function issuerOf(cert: K8sObject): K8sObject {
  expect(cert.spec.issuerRef.kind).toBe("Issuer");
  const issuer = one(certManagerObjects(), "Issuer", cert.spec.issuerRef.name);
  expect(issuer.metadata.namespace).toBe(cert.metadata.namespace);
  return issuer;
}

describe("cert-manager component", () => {
  it("the Certificate writes the Secret the Deployment mounts", () => {
    expect(certificate().spec.secretName).toBe(tlsSecretName());
    expect(certificate().metadata.namespace).toBe(deployment().metadata.namespace);
  });

  it("the Certificate names the Service in every form a client may use", () => {
    const name = service().metadata.name;
    const ns = service().metadata.namespace;
    expect([...certificate().spec.dnsNames].sort()).toEqual(
      [name, `${name}.${ns}`, `${name}.${ns}.svc`, `${name}.${ns}.svc.cluster.local`].sort(),
    );
    expect(certificate().spec.usages).toContain("server auth");
  });

  it("the Certificate is signed by a CA Issuer whose CA comes from a self-signed Issuer", () => {
    const caIssuer = issuerOf(certificate());
    expect(caIssuer.spec.ca.secretName).toBeTruthy();
    const caCertificates = certManagerObjects().filter(
      (o) => o.kind === "Certificate" && o.spec.secretName === caIssuer.spec.ca.secretName,
    );
    expect(caCertificates).toHaveLength(1);
    expect(caCertificates[0]!.spec.isCA).toBe(true);
    expect(issuerOf(caCertificates[0]!).spec.selfSigned).toEqual({});
  });

  it("the overlay's webhook configuration gets its caBundle from that Certificate", () => {
    const config = one(certManagerObjects(), "MutatingWebhookConfiguration", webhookConfig().metadata.name);
    expect(config.metadata.annotations["cert-manager.io/inject-ca-from"]).toBe(
      `${certificate().metadata.namespace}/${certificate().metadata.name}`,
    );
    expect(config.webhooks).toEqual(webhookConfig().webhooks);
  });
});

describe("aws-credentials.example.yaml", () => {
  const text = (): string => readText("webhook-config/aws-credentials.example.yaml");

  it("is one Secret with placeholder keys, in the webhook's namespace", () => {
    const docs = objectsInFile("webhook-config/aws-credentials.example.yaml");
    expect(docs).toHaveLength(1);
    expect(docs[0]!.kind).toBe("Secret");
    expect(docs[0]!.metadata.namespace).toBe(namespace().metadata.name);
    expect(Object.keys(docs[0]!.stringData).sort()).toEqual([
      "AWS_ACCESS_KEY_ID",
      "AWS_REGION",
      "AWS_SECRET_ACCESS_KEY",
    ]);
    expect(docs[0]!.stringData.AWS_ACCESS_KEY_ID).toMatch(/^REPLACE/);
  });

  it.each([
    "eks.amazonaws.com/role-arn",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "EKS Pod Identity",
    "ecr:GetAuthorizationToken",
    "sts:AssumeRole",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
  ])("documents %s", (word) => {
    expect(text()).toContain(word);
  });
});

// ─── Dockerfile ──────────────────────────────────────────────────────────────────────────────────

const stages = (): ReturnType<typeof dockerStages> => dockerStages(readText("Dockerfile"));
const finalStage = (): ReturnType<typeof dockerStages>[number] => stages().at(-1)!;
const instructions = (stage: ReturnType<typeof dockerStages>[number], keyword: string): string[] =>
  stage.filter((i) => i.keyword === keyword).map((i) => i.args);

/** The image of a FROM line, without --platform and `AS name`. */
const fromImage = (args: string): string =>
  args.split(/\s+/).filter((word) => !word.startsWith("--"))[0] ?? "";

const NODE_IMAGE = /^(docker\.io\/(library\/)?)?node:(22|24)([-.][\w.-]*)?$/;
const DISTROLESS_NODE_IMAGE = /^gcr\.io\/distroless\/nodejs(22|24)-debian\d+(:[\w.-]+)?$/;

/** An exec-form (JSON array) instruction; shell form would run through /bin/sh, absent in distroless. */
function execForm(keyword: string): string[] {
  const lines = instructions(finalStage(), keyword);
  expect(lines.length, keyword).toBeGreaterThan(0);
  const value: unknown = JSON.parse(lines.at(-1)!);
  expect(Array.isArray(value)).toBe(true);
  return value as string[];
}

function dockerUser(): { uid: number; gid?: number } {
  const users = instructions(finalStage(), "USER");
  expect(users.length).toBeGreaterThan(0);
  const match = /^(\d+)(?::(\d+))?$/.exec(users.at(-1)!);
  expect(match, "USER must be numeric so runAsNonRoot can verify it").not.toBeNull();
  return { uid: Number(match![1]), ...(match![2] ? { gid: Number(match![2]) } : {}) };
}

describe("Dockerfile", () => {
  it("has a build stage and a runtime stage", () => {
    expect(stages().length).toBeGreaterThanOrEqual(2);
  });

  it("builds on node:22 or node:24", () => {
    expect(fromImage(instructions(stages()[0]!, "FROM")[0]!)).toMatch(NODE_IMAGE);
  });

  it("runs on a Node.js 22 or 24 image", () => {
    const image = fromImage(instructions(finalStage(), "FROM")[0]!);
    expect(NODE_IMAGE.test(image) || DISTROLESS_NODE_IMAGE.test(image), image).toBe(true);
  });

  it("installs with npm ci and builds the bundle the package's build script makes", () => {
    const runs = stages().flatMap((stage) => instructions(stage, "RUN"));
    expect(runs.some((run) => /\bnpm ci\b/.test(run))).toBe(true);
    expect(runs.some((run) => /\bnpm run build\b/.test(run))).toBe(true);
    const pkg = JSON.parse(readText("package.json"));
    expect(pkg.scripts.build).toMatch(/npm run bundle/);
    expect(pkg.scripts.bundle).toMatch(/--outfile=dist\/ecr-webhook\.mjs/);
  });

  it("the runtime stage copies only the bundle: no node_modules, no development packages", () => {
    const sources = instructions(finalStage(), "COPY").flatMap((args) => {
      const words = args.split(/\s+/).filter((word) => !word.startsWith("--"));
      return words.slice(0, -1);
    });
    // The bundle, and the empty directory the compile cache is written into.
    expect(sources).toEqual(["/app/dist/ecr-webhook.mjs", "/app/compile-cache"]);
  });

  it("writes the compile cache with the entrypoint's own node and flags, as the pods' user", () => {
    // Node keys the cache by version, V8 flags and uid and silently ignores one made otherwise: it
    // must come from this stage's node, run exactly as the entrypoint runs it, by the runtime user.
    const runs = instructions(finalStage(), "RUN");
    expect(runs).toHaveLength(1);
    const run: unknown = JSON.parse(runs[0]!);
    expect(run).toEqual([...execForm("ENTRYPOINT"), "--help"]);
    const cache = instructions(finalStage(), "ENV")
      .map((env) => /^NODE_COMPILE_CACHE=(\S+)$/.exec(env)?.[1])
      .find(Boolean);
    expect(cache, "NODE_COMPILE_CACHE").toBe("/app/compile-cache");
    const keywords = finalStage().map((i) => i.keyword);
    const userBeforeRun = instructions(finalStage().slice(0, keywords.indexOf("RUN")), "USER").at(-1);
    expect(userBeforeRun).toBe(instructions(finalStage(), "USER").at(-1));
    const copy = instructions(finalStage(), "COPY").find((args) => args.includes("compile-cache"));
    const { uid, gid } = dockerUser();
    expect(copy).toContain(`--chown=${uid}:${gid ?? uid}`);
    for (const [owner, spec] of POD_SPECS)
      for (const container of spec().containers)
        expect(container.securityContext?.readOnlyRootFilesystem, owner).toBe(true);
  });

  it("sets NODE_ENV=production", () => {
    expect(instructions(finalStage(), "ENV")).toContain("NODE_ENV=production");
  });

  it("runs as a numeric non-root user, the runAsUser of every pod", () => {
    const { uid, gid } = dockerUser();
    expect(uid).toBeGreaterThan(0);
    for (const [owner, spec] of POD_SPECS) {
      expect(spec().securityContext.runAsUser, owner).toBe(uid);
      if (gid !== undefined) expect(spec().securityContext.runAsGroup ?? gid, owner).toBe(gid);
    }
  });

  it("its entrypoint runs the bundle with node and the default command is serve", () => {
    const entrypoint = execForm("ENTRYPOINT");
    expect(entrypoint.at(-1)).toBe("dist/ecr-webhook.mjs");
    expect(entrypoint.slice(1, -1).every((flag) => flag.startsWith("--"))).toBe(true);
    expect(entrypoint[0]).toMatch(/(^|\/)node$/);
    expect(execForm("CMD")).toEqual(["serve"]);
    expect(webhookContainer().args[0]).toBe("serve");
    expect(webhookContainer().command).toBeUndefined();
  });

  it("exposes the webhook and metrics ports", () => {
    const ports = instructions(finalStage(), "EXPOSE").flatMap((args) => args.split(/\s+/));
    expect(ports).toEqual(expect.arrayContaining([String(WEBHOOK_PORT), String(METRICS_PORT)]));
  });

  it("carries OCI labels", () => {
    const labels = instructions(finalStage(), "LABEL").join(" ");
    for (const name of ["title", "source", "licenses", "version"]) {
      expect(labels).toContain(`org.opencontainers.image.${name}=`);
    }
  });
});

describe(".dockerignore", () => {
  const lines = (): string[] =>
    readText(".dockerignore")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));

  it.each(["node_modules", "dist", "test", "bench", ".git", "coverage", ".ci", "*.md"])(
    "excludes %s",
    (entry) => {
      expect(lines()).toContain(entry);
    },
  );

  it("keeps README.md (re-included after *.md)", () => {
    expect(lines().indexOf("!README.md")).toBeGreaterThan(lines().indexOf("*.md"));
  });
});

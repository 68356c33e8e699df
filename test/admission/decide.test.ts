import { describe, expect, it } from "vitest";
import { decide, type Decision } from "../../src/admission/decide.js";
import type { NamespaceMeta } from "../../src/policy/namespace.js";
import { decodeReview, type AdmissionRequest } from "../../src/admission/review.js";
import { enabledNamespace, loadReview, testConfig } from "../support/fixtures.js";

const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

function podRequest(mutate: (review: any) => void = () => {}): AdmissionRequest {
  const raw = loadReview("pod-create-ecr.json");
  mutate(raw);
  return decodeReview(raw).request;
}

function hosts(decision: Decision): string[] | "skip" {
  return decision.action === "inject" ? decision.registries.map((r) => r.host) : "skip";
}

const annotate = (annotations: Record<string, string>) => (r: any) => {
  r.request.object.metadata.annotations = annotations;
};
const onlyImage = (image: string) => (r: any) => {
  r.request.object.spec.containers = [{ name: "c", image }];
};

describe("decide: which requests are mutated", () => {
  const cases: {
    name: string;
    request: AdmissionRequest;
    namespace?: NamespaceMeta;
    argv?: string[];
    expected: string[] | "skip";
  }[] = [
    { name: "pod in an enabled namespace", request: podRequest(), expected: [EAST] },
    {
      name: "the recorded pod with --ecr-public: its public.ecr.aws sidecar too",
      request: podRequest(),
      argv: ["--ecr-public=true"],
      expected: [EAST, "public.ecr.aws"],
    },
    {
      name: "pod pulling only from public.ecr.aws, without --ecr-public",
      request: podRequest(onlyImage("public.ecr.aws/nginx/nginx:1.27")),
      expected: "skip",
    },
    {
      name: "pod pulling only from public.ecr.aws, with --ecr-public and an account allow-list",
      request: podRequest(onlyImage("public.ecr.aws/nginx/nginx:1.27")),
      argv: ["--ecr-public=true", "--allowed-accounts=999999999999", "--allowed-regions=eu-west-1"],
      expected: ["public.ecr.aws"],
    },
    {
      name: "namespace labelled ecr-webhook.io/exclude, opted in or not",
      request: podRequest(),
      namespace: {
        name: "renamed-home",
        labels: { "ecr-webhook.io/inject": "enabled", "ecr-webhook.io/exclude": "true" },
        annotations: {},
      },
      expected: "skip",
    },
    {
      name: "namespace without the label",
      request: podRequest(),
      namespace: { name: "team-a", labels: {}, annotations: {} },
      expected: "skip",
    },
    {
      name: "label with another value",
      request: podRequest(),
      namespace: { name: "team-a", labels: { "ecr-webhook.io/inject": "disabled" }, annotations: {} },
      expected: "skip",
    },
    {
      name: "custom --namespace-label",
      request: podRequest(),
      namespace: { name: "team-a", labels: { "example.com/ecr": "yes" }, annotations: {} },
      argv: ["--namespace-label", "example.com/ecr=yes"],
      expected: [EAST],
    },
    { name: "namespace unknown", request: podRequest(), namespace: undefined, expected: "skip" },
    {
      name: "kube-system is excluded even when labelled",
      request: podRequest((r) => (r.request.namespace = "kube-system")),
      namespace: enabledNamespace("kube-system"),
      expected: "skip",
    },
    {
      name: "--exclude-namespaces",
      request: podRequest(),
      argv: ["--exclude-namespaces", "team-a,team-b"],
      expected: "skip",
    },
    {
      name: "UPDATE is not mutated",
      request: podRequest((r) => (r.request.operation = "UPDATE")),
      expected: "skip",
    },
    {
      name: "a subresource is not mutated",
      request: podRequest((r) => (r.request.subResource = "ephemeralcontainers")),
      expected: "skip",
    },
    {
      name: "another kind is not mutated",
      request: podRequest((r) => (r.request.kind = { group: "apps", version: "v1", kind: "Deployment" })),
      expected: "skip",
    },
    {
      name: "pod annotation inject=false",
      request: podRequest(annotate({ "ecr-webhook.io/inject": "false" })),
      expected: "skip",
    },
    {
      name: "pod annotation inject=true changes nothing",
      request: podRequest(annotate({ "ecr-webhook.io/inject": "true" })),
      expected: [EAST],
    },
    { name: "no ECR image, no annotation", request: podRequest(onlyImage("nginx:1.27")), expected: "skip" },
    {
      name: "ephemeral container image counts",
      request: podRequest((r) => {
        r.request.object.spec.containers = [{ name: "a", image: "busybox" }];
        r.request.object.spec.ephemeralContainers = [{ name: "d", image: `${EAST}/debug:1` }];
      }),
      expected: [EAST],
    },
    { name: "pod without spec", request: podRequest((r) => delete r.request.object.spec), expected: "skip" },
    {
      name: "duplicate registries are merged",
      request: podRequest((r) =>
        r.request.object.spec.containers.push({ name: "x", image: `${EAST}/other@sha256:${"a".repeat(64)}` }),
      ),
      expected: [EAST],
    },
  ];
  it.each(cases)("$name", (testCase) => {
    // An explicit `namespace: undefined` means "not found"; leaving it out means team-a, enabled.
    const namespace = "namespace" in testCase ? testCase.namespace : enabledNamespace();
    const decision = decide(testCase.request, namespace, testConfig(testCase.argv ?? []));
    expect(hosts(decision)).toEqual(testCase.expected);
  });
});

describe("decide: pod annotations and allow-lists", () => {
  const cases: {
    name: string;
    annotations?: Record<string, string>;
    image?: string;
    argv?: string[];
    nsAnnotations?: Record<string, string>;
    expected: string[] | "skip";
    warning?: RegExp;
  }[] = [
    {
      name: "account and region annotations add a registry",
      image: "nginx",
      annotations: { "ecr-webhook.io/account": "210987654321", "ecr-webhook.io/region": "eu-west-1" },
      expected: ["210987654321.dkr.ecr.eu-west-1.amazonaws.com"],
    },
    {
      name: "annotation registry is added to the image's",
      annotations: { "ecr-webhook.io/account": "210987654321", "ecr-webhook.io/region": "eu-west-1" },
      expected: [EAST, "210987654321.dkr.ecr.eu-west-1.amazonaws.com"],
    },
    {
      name: "region only falls back to --default-account",
      image: "nginx",
      annotations: { "ecr-webhook.io/region": "eu-central-1" },
      argv: ["--default-account", "111122223333"],
      expected: ["111122223333.dkr.ecr.eu-central-1.amazonaws.com"],
    },
    {
      name: "account only falls back to --default-region",
      image: "nginx",
      annotations: { "ecr-webhook.io/account": "111122223333" },
      argv: ["--default-region", "cn-north-1"],
      expected: ["111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn"],
    },
    {
      name: "account only without a default region warns",
      image: "nginx",
      annotations: { "ecr-webhook.io/account": "111122223333" },
      expected: "skip",
      warning: /ecr-webhook.io\/region \(or --default-region\)/,
    },
    {
      name: "an invalid account annotation warns, images still served",
      annotations: { "ecr-webhook.io/account": "12345", "ecr-webhook.io/region": "us-east-1" },
      expected: [EAST],
      warning: /ecr-webhook.io\/account="12345" ignored/,
    },
    {
      name: "an invalid region annotation warns",
      image: "nginx",
      annotations: { "ecr-webhook.io/account": "111122223333", "ecr-webhook.io/region": "mars-1" },
      expected: "skip",
      warning: /ecr-webhook.io\/region="mars-1" ignored/,
    },
    {
      name: "--allowed-accounts drops other accounts",
      argv: ["--allowed-accounts", "999999999999"],
      expected: "skip",
      warning:
        /no credentials for 123456789012.dkr.ecr.us-east-1.amazonaws.com: account 123456789012 is not allowed by --allowed-accounts/,
    },
    {
      name: "--allowed-regions drops other regions",
      argv: ["--allowed-regions", "eu-west-1,eu-central-1"],
      expected: "skip",
      warning: /region us-east-1 is not allowed by --allowed-regions/,
    },
    {
      name: "--allowed-accounts that includes the account",
      argv: ["--allowed-accounts", "999999999999,123456789012"],
      expected: [EAST],
    },
    {
      name: "namespace annotation narrows further",
      nsAnnotations: { "ecr-webhook.io/allowed-accounts": "999999999999" },
      expected: "skip",
      warning: /not allowed by namespace team-a annotation ecr-webhook.io\/allowed-accounts/,
    },
    {
      name: "namespace annotation cannot widen the server list",
      argv: ["--allowed-accounts", "999999999999"],
      nsAnnotations: { "ecr-webhook.io/allowed-accounts": "123456789012" },
      expected: "skip",
      warning: /--allowed-accounts/,
    },
    {
      name: "namespace region annotation",
      nsAnnotations: { "ecr-webhook.io/allowed-regions": "us-east-1" },
      expected: [EAST],
    },
    {
      name: "pod cannot escape the allow-list by annotation",
      image: "nginx",
      argv: ["--allowed-accounts", "123456789012"],
      annotations: { "ecr-webhook.io/account": "210987654321", "ecr-webhook.io/region": "us-east-1" },
      expected: "skip",
      warning: /account 210987654321 is not allowed/,
    },
  ];
  it.each(cases)("$name", (c) => {
    const request = podRequest((r) => {
      if (c.image) r.request.object.spec.containers = [{ name: "c", image: c.image }];
      if (c.annotations) r.request.object.metadata.annotations = c.annotations;
    });
    const decision = decide(
      request,
      enabledNamespace("team-a", c.nsAnnotations ?? {}),
      testConfig(c.argv ?? []),
    );
    expect(hosts(decision)).toEqual(c.expected);
    if (c.warning) expect(decision.warnings.join("\n")).toMatch(c.warning);
    else expect(decision.warnings).toEqual([]);
  });
});

describe("decide: a pod asking for more registries than the Secret holds", () => {
  it("gets the first --max-registries and a warning naming the rest", () => {
    const images = ["111111111111", "222222222222", "333333333333"].map(
      (account) => `${account}.dkr.ecr.us-east-1.amazonaws.com/app:1`,
    );
    const request = podRequest((r: any) => {
      r.request.object.spec.containers = images.map((image, i) => ({ name: `c${i}`, image }));
    });
    const decision = decide(request, enabledNamespace(), testConfig(["--max-registries=2"]));
    expect(hosts(decision)).toEqual([
      "111111111111.dkr.ecr.us-east-1.amazonaws.com",
      "222222222222.dkr.ecr.us-east-1.amazonaws.com",
    ]);
    expect(decision.warnings).toEqual([
      "ecr-webhook: the pull Secret holds at most 2 registries (--max-registries); no credentials for 333333333333.dkr.ecr.us-east-1.amazonaws.com",
    ]);
  });
});

describe("decide: ServiceAccounts", () => {
  const saRequest = () => decodeReview(loadReview("serviceaccount-create.json")).request;

  it("gets the reference and no registry without defaults", () => {
    const decision = decide(saRequest(), enabledNamespace(), testConfig());
    expect(decision).toMatchObject({ action: "inject", target: "ServiceAccount", registries: [] });
  });

  it("ensures the default registry when both defaults are set", () => {
    const decision = decide(
      saRequest(),
      enabledNamespace(),
      testConfig(["--default-account", "111122223333", "--default-region", "us-west-2"]),
    );
    expect(hosts(decision)).toEqual(["111122223333.dkr.ecr.us-west-2.amazonaws.com"]);
  });

  it("is left alone with --patch-service-accounts=false", () => {
    expect(
      decide(saRequest(), enabledNamespace(), testConfig(["--patch-service-accounts=false"])).action,
    ).toBe("skip");
  });

  it("keeps existing pull secrets and appends ours", () => {
    const request = saRequest();
    (request.object as any).imagePullSecrets = [{ name: "mine" }];
    const decision = decide(request, enabledNamespace(), testConfig());
    expect(decision.action === "inject" && decision.patch).toEqual([
      { op: "add", path: "/imagePullSecrets/1", value: { name: "ecr-pull-secret" } },
      {
        op: "add",
        path: "/metadata/annotations",
        value: { "ecr-webhook.io/added-pull-secret": "ecr-pull-secret" },
      },
    ]);
  });
});

describe("decide: a pod opted out by annotation", () => {
  const optedOut = (refs?: string[]) =>
    podRequest((r) => {
      r.request.object.metadata.annotations = { "ecr-webhook.io/inject": "false" };
      if (refs) r.request.object.spec.imagePullSecrets = refs.map((name) => ({ name }));
      else delete r.request.object.spec.imagePullSecrets;
    });
  const config = testConfig([]);
  const ns = enabledNamespace("team-a");

  it("with the reference its ServiceAccount gave it: only that reference is removed, with a warning", () => {
    const decision = decide(optedOut(["own", "ecr-pull-secret", "other"]), ns, config);
    expect(decision.action).toBe("strip");
    if (decision.action !== "strip") return;
    expect(decision.patch).toEqual([{ op: "remove", path: "/spec/imagePullSecrets/1" }]);
    expect(decision.warnings.join("\n")).toMatch(/ecr-pull-secret reference .* was removed/);
  });

  it("named twice: both go, the later first so that each index holds", () => {
    const decision = decide(optedOut(["ecr-pull-secret", "own", "ecr-pull-secret"]), ns, config);
    expect(decision.action === "strip" && decision.patch).toEqual([
      { op: "remove", path: "/spec/imagePullSecrets/2" },
      { op: "remove", path: "/spec/imagePullSecrets/0" },
    ]);
  });

  it("without the reference: admitted unchanged", () => {
    expect(decide(optedOut(["own"]), ns, config).action).toBe("skip");
    expect(decide(optedOut(), ns, config).action).toBe("skip");
  });

  it("in a namespace that is not enabled: never touched", () => {
    const plain = { name: "team-b", labels: {}, annotations: {} };
    expect(decide(optedOut(["ecr-pull-secret"]), plain, config).action).toBe("skip");
  });
});

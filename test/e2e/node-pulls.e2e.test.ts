/**
 * Image pulls on a real node: the kubelet reads the pull Secret the webhook keeps, containerd pulls
 * through the registry front, and the front says which token it accepted or refused. Each case is
 * judged by what the kubelet did (pod phase, container state) and by the front's log.
 */
import { expect, it } from "vitest";
import { ENABLED } from "./support/cluster.js";
import {
  allRunning,
  describeNode,
  imageAt,
  nodePod,
  podEvents,
  pullFailed,
  waitForPod,
} from "./support/node/pods.js";
import { ECR_PUBLIC_HOST } from "./support/node/registry-front.js";
import { useRegistryFront } from "./support/node/use-registry-front.js";
import { pullTimings } from "./support/node/timings.js";
import { ACCOUNT, dockerConfigOf, pullSecretNames, REGISTRY, SECRET, useSuite } from "./support/suite.js";

const EU_REGISTRY = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";

describeNode("image pulls on a real node", () => {
  const suite = useSuite({
    serveArgs: [`--default-account=${ACCOUNT}`, "--default-region=us-east-1", "--ecr-public=true"],
  });
  const front = useRegistryFront(suite, [REGISTRY, EU_REGISTRY, ECR_PUBLIC_HOST]);
  const core = () => suite.cluster.core;
  const lastToken = (region: string, isPublic = false) =>
    suite.aws.tokens.findLastIndex((t) => t.region === region && (t.public ?? false) === isPublic) + 1;

  it("an opted-in pod pulls with the token in its namespace's Secret and runs", async () => {
    const namespace = await suite.namespace("pull-optin", { labels: { ...ENABLED } });
    const image = imageAt(REGISTRY, `${namespace}/web`);
    const created = await core().createNamespacedPod({ namespace, body: nodePod("web", [image]) });
    expect(pullSecretNames(created)).toContain(SECRET);
    const pod = await waitForPod(core(), namespace, "web", allRunning);
    expect(pod.status?.containerStatuses?.[0]?.imageID).toMatch(/@sha256:/);
    const secret = await core().readNamespacedSecret({ namespace, name: SECRET });
    const password = dockerConfigOf(secret)[REGISTRY]!.password;
    const accepted = front()
      .of(`${namespace}/web`)
      .filter((r) => r.outcome === "accepted");
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.map((r) => r.token)).toEqual(
      accepted.map(() => suite.aws.tokens.findIndex((t) => t.password === password) + 1),
    );
    expect(
      front()
        .of(`${namespace}/web`)
        .filter((r) => r.outcome === "refused"),
    ).toEqual([]);
    pullTimings.record("opted-in pod", await podEvents(core(), namespace, "web"));
  });

  it("a pod in a namespace that did not opt in is refused (401) and backs off", async () => {
    const namespace = await suite.namespace("pull-plain");
    const image = imageAt(REGISTRY, `${namespace}/web`);
    const created = await core().createNamespacedPod({
      namespace,
      body: nodePod("web", [image], { pullPolicy: "Always" }),
    });
    expect(pullSecretNames(created)).toEqual([]);
    const pod = await waitForPod(core(), namespace, "web", pullFailed);
    expect(pod.status?.phase).toBe("Pending");
    const records = front().of(`${namespace}/web`);
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.outcome === "challenged")).toBe(true);
    expect((await podEvents(core(), namespace, "web")).join("\n")).toMatch(/401 Unauthorized/);
  });

  it("a pod opted out by annotation pulls with nothing of the webhook's and is refused", async () => {
    const namespace = await suite.namespace("pull-optout", { labels: { ...ENABLED } });
    // The reconciler has referenced the Secret from the default ServiceAccount by now.
    await expect
      .poll(
        async () =>
          (await core().readNamespacedServiceAccount({ namespace, name: "default" })).imagePullSecrets?.map(
            (r) => r.name,
          ),
        {
          timeout: 30_000,
        },
      )
      .toEqual([SECRET]);
    const image = imageAt(REGISTRY, `${namespace}/web`);
    const created = await core().createNamespacedPod({
      namespace,
      body: nodePod("web", [image], {
        pullPolicy: "Always",
        annotations: { "ecr-webhook.io/inject": "false" },
      }),
    });
    expect(pullSecretNames(created)).toEqual([]);
    await waitForPod(core(), namespace, "web", pullFailed);
    const records = front().of(`${namespace}/web`);
    expect(records.length).toBeGreaterThan(0);
    expect(records.filter((r) => r.outcome === "accepted")).toEqual([]);
  });

  it("a Deployment's pod pulls and runs", async (context) => {
    if (!suite.cluster.controllers) context.skip();
    const namespace = await suite.namespace("pull-deploy", { labels: { ...ENABLED } });
    const labels = { app: "api" };
    const template = nodePod("unused", [imageAt(REGISTRY, `${namespace}/api`)]);
    await suite.cluster.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "api" },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: template.spec! },
        },
      },
    });
    let name = "";
    await expect
      .poll(
        async () => {
          const pods = (await core().listNamespacedPod({ namespace })).items;
          name = pods[0]?.metadata?.name ?? "";
          return pods.length === 1 && allRunning(pods[0]!);
        },
        { timeout: 60_000, interval: 250 },
      )
      .toBe(true);
    const pod = await core().readNamespacedPod({ namespace, name });
    expect(pod.metadata?.ownerReferences?.[0]?.kind).toBe("ReplicaSet");
    expect(pullSecretNames(pod)).toContain(SECRET);
    expect(
      front()
        .of(`${namespace}/api`)
        .some((r) => r.outcome === "accepted" && r.token === lastToken("us-east-1")),
    ).toBe(true);
  });

  it("one pod, two accounts in two regions and ECR Public: each registry gets its own token", async () => {
    const namespace = await suite.namespace("pull-multi", { labels: { ...ENABLED } });
    const images = [
      imageAt(REGISTRY, `${namespace}/a`),
      imageAt(EU_REGISTRY, `${namespace}/b`),
      imageAt(ECR_PUBLIC_HOST, `ecr-webhook-e2e/${namespace}/c`),
    ];
    await core().createNamespacedPod({ namespace, body: nodePod("multi", images) });
    const pod = await waitForPod(core(), namespace, "multi", allRunning);
    expect(pod.status?.containerStatuses).toHaveLength(3);
    const auths = dockerConfigOf(await core().readNamespacedSecret({ namespace, name: SECRET }));
    expect(Object.keys(auths).sort()).toEqual([EU_REGISTRY, REGISTRY, ECR_PUBLIC_HOST].sort());
    const tokenOf = (host: string) =>
      suite.aws.tokens.findIndex((t) => t.password === auths[host]!.password) + 1;
    const acceptedWith = (path: string) =>
      new Set(
        front()
          .of(path)
          .filter((r) => r.outcome === "accepted")
          .map((r) => r.token),
      );
    expect(acceptedWith(`${namespace}/a`)).toEqual(new Set([tokenOf(REGISTRY)]));
    expect(acceptedWith(`${namespace}/b`)).toEqual(new Set([tokenOf(EU_REGISTRY)]));
    expect(acceptedWith(`ecr-webhook-e2e/${namespace}/c`)).toEqual(new Set([tokenOf(ECR_PUBLIC_HOST)]));
    expect(suite.aws.tokens[tokenOf(EU_REGISTRY) - 1]?.region).toBe("eu-west-1");
    expect(suite.aws.tokens[tokenOf(ECR_PUBLIC_HOST) - 1]?.public).toBe(true);
    // Each host's token is its own: the front refuses another region's.
    expect(front().verdict(EU_REGISTRY, auths[REGISTRY]!.password)).toMatchObject({ outcome: "refused" });
    pullTimings.record("three registries in one pod", await podEvents(core(), namespace, "multi"));
  });
});

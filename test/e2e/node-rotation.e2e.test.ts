/**
 * Rotation as a node lives it, with tokens that expire 30 s after ECR issued them: once the password
 * a pod first pulled with has expired, a container that restarts (killed; imagePullPolicy Always)
 * and a new pod both pull with the one rotation wrote since, into the same Secret.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { ENABLED } from "./support/cluster.js";
import {
  allRunning,
  describeNode,
  imageAt,
  killContainer,
  nodePod,
  nodeState,
  podEvents,
  waitForPod,
} from "./support/node/pods.js";
import { useRegistryFront } from "./support/node/use-registry-front.js";
import { pullTimings } from "./support/node/timings.js";
import { ACCOUNT, dockerConfigOf, REGISTRY, SECRET, useSuite } from "./support/suite.js";

const TOKEN_TTL_MS = 30_000;

describeNode("rotation on a real node, with tokens that live 30 s", () => {
  const suite = useSuite({
    serveArgs: [
      `--default-account=${ACCOUNT}`,
      "--default-region=us-east-1",
      "--leader-elect=false",
      "--rotation-interval=2s",
    ],
    aws: { tokenTtlMs: TOKEN_TTL_MS },
  });
  const front = useRegistryFront(suite, [REGISTRY]);
  const core = () => suite.cluster.core;
  const tokenIn = async (namespace: string) => {
    const secret = await core().readNamespacedSecret({ namespace, name: SECRET });
    const password = dockerConfigOf(secret)[REGISTRY]!.password;
    return {
      number: suite.aws.tokens.findIndex((t) => t.password === password) + 1,
      uid: secret.metadata?.uid,
    };
  };
  const acceptedTokens = (path: string, from = 0) =>
    front()
      .of(path)
      .slice(from)
      .filter((r) => r.outcome === "accepted")
      .map((r) => r.token!);

  it("after the first password expired, a killed container and a new pod pull with the current one", async () => {
    const namespace = await suite.namespace("rotate", { labels: { ...ENABLED } });
    const path = `${namespace}/app`;
    await core().createNamespacedPod({
      namespace,
      body: nodePod("app", [imageAt(REGISTRY, path)], { pullPolicy: "Always" }),
    });
    const pod = await waitForPod(core(), namespace, "app", allRunning);
    const first = acceptedTokens(path);
    expect(first.length).toBeGreaterThan(0);
    const firstToken = suite.aws.tokens[first[0]! - 1]!;
    const { uid } = await tokenIn(namespace);

    // Past the first token's expiry: the front refuses it now, and rotation has replaced it.
    await sleep(Math.max(0, firstToken.expiresAt - Date.now() + 500));
    expect(front().verdict(REGISTRY, firstToken.password)).toMatchObject({
      outcome: "refused",
      reason: "expired",
    });
    const current = await tokenIn(namespace);
    expect(current.number).toBeGreaterThan(first[0]!);
    expect(current.uid).toBe(uid);

    const seen = front().of(path).length;
    await killContainer(nodeState()!, pod.status!.containerStatuses![0]!.containerID!);
    const restarted = await waitForPod(
      core(),
      namespace,
      "app",
      (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && allRunning(p),
    );
    expect(restarted.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(137);
    const afterRestart = acceptedTokens(path, seen);
    expect(afterRestart.length).toBeGreaterThan(0);
    expect(afterRestart.every((n) => n > first[0]!)).toBe(true);
    expect(
      front()
        .of(path)
        .slice(seen)
        .filter((r) => r.outcome === "refused"),
    ).toEqual([]);

    const freshPath = `${namespace}/fresh`;
    await core().createNamespacedPod({ namespace, body: nodePod("fresh", [imageAt(REGISTRY, freshPath)]) });
    await waitForPod(core(), namespace, "fresh", allRunning);
    const fresh = acceptedTokens(freshPath);
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.every((n) => n > first[0]! && Date.now() - 5_000 < suite.aws.tokens[n - 1]!.expiresAt)).toBe(
      true,
    );
    pullTimings.record("restart after rotation", await podEvents(core(), namespace, "app"));
  }, 120_000);
});

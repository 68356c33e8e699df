/**
 * The approach most clusters use today, on the same Kubernetes stand-in (behind a discovery front,
 * see lib/discovery-proxy.ts): one `aws ecr get-login-password` per run, one namespace list, then per
 * namespace `kubectl create secret docker-registry … --dry-run=client -o yaml | kubectl apply -f -`,
 * sequentially as CronJob scripts do. A sample of namespaces is timed and extrapolated.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import type { AwsStandIn } from "../../test/support/aws/index.js";
import { useAwsEndpoints } from "../../test/support/aws-env.js";
import type { StandInCounts, StandIns } from "../procs/standins.js";
import { FIXTURE_REGISTRY } from "../lib/reviews.js";
import type { StandInsProcess } from "../lib/standins-client.js";
import type { WorkDir } from "../lib/workdir.js";

export const KUBECTL_SAMPLE = 100;

export type KubectlResult =
  | { skipped: string }
  | {
      kubectl: string;
      version: string;
      sample: number;
      failures: number;
      tokenMs: number;
      listMs: number;
      perNamespaceMs: number;
      apiRequestsPerNamespace: number;
      /** token + list + perNamespaceMs × namespaces: extrapolated from the sample. */
      estimatedTotalMs: number;
      extrapolatedTo: number;
    };

const PIPELINE =
  'kubectl create secret docker-registry "$SECRET_NAME" --namespace="$NS" --docker-server="$REGISTRY" ' +
  '--docker-username=AWS --docker-password="$ECR_PASSWORD" --dry-run=client -o yaml ' +
  "| kubectl apply --validate=false -f -";

function sh(script: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", script], { env, stdio: "ignore" });
    child.on("exit", (code) => resolve(code ?? 1));
    child.on("error", () => resolve(1));
  });
}

/** What `aws ecr get-login-password` does: one GetAuthorizationToken, through the SDK, to the stand-in. */
async function loginPassword(standIns: StandIns): Promise<string> {
  const restore = useAwsEndpoints({ endpointEnv: () => standIns.awsEndpoints } as AwsStandIn);
  try {
    const client = new ECRClient({ region: "us-east-1" });
    const out = await client.send(new GetAuthorizationTokenCommand({}));
    client.destroy();
    const decoded = Buffer.from(out.authorizationData?.[0]?.authorizationToken ?? "", "base64").toString();
    return decoded.slice("AWS:".length);
  } finally {
    restore();
  }
}

function kubeconfig(url: string, ca: string, token: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    `clusters: [{name: stand-in, cluster: {server: "${url}", certificate-authority-data: "${Buffer.from(ca).toString("base64")}"}}]`,
    `users: [{name: bench, user: {token: "${token}"}}]`,
    "contexts: [{name: stand-in, context: {cluster: stand-in, user: bench}}]",
    "current-context: stand-in",
    "",
  ].join("\n");
}

const kubeTotal = (c: StandInCounts) => Object.values(c.kube).reduce((a, b) => a + b, 0);

export async function kubectlLoop(
  work: WorkDir,
  standIns: StandInsProcess,
  namespaces: readonly string[],
  extrapolateTo: number,
): Promise<KubectlResult> {
  const found = spawnSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" });
  const kubectl = found.status === 0 ? found.stdout.trim() : "";
  if (!kubectl) return { skipped: "kubectl is not installed" };
  const version =
    spawnSync(kubectl, ["version", "--client"], { encoding: "utf8" }).stdout.split("\n")[0] ?? "";
  const url = await standIns.child.call<string>("startDiscoveryProxy", { cert: work.cert, key: work.key });
  const home = work.file("kubectl-home");
  mkdirSync(home, { recursive: true });
  writeFileSync(work.file("kubeconfig"), kubeconfig(url, work.ca, standIns.info.kubeToken), { mode: 0o600 });
  const env = { PATH: process.env.PATH, HOME: home, KUBECONFIG: work.file("kubeconfig") };

  let started = performance.now();
  const password = await loginPassword(standIns.info);
  const tokenMs = performance.now() - started;
  started = performance.now();
  await sh("kubectl get namespaces -l ecr-webhook.io/inject=enabled -o name > /dev/null", env);
  const listMs = performance.now() - started;
  const loopEnv = {
    ...env,
    ECR_PASSWORD: password,
    REGISTRY: FIXTURE_REGISTRY,
    SECRET_NAME: "ecr-pull-secret",
  };
  // One unmeasured run fills kubectl's discovery cache, as the first namespace of a real run would.
  await sh(PIPELINE, { ...loopEnv, NS: namespaces[0]! });
  const before = await standIns.child.call<StandInCounts>("counts");
  let failures = 0;
  started = performance.now();
  for (const ns of namespaces) if ((await sh(PIPELINE, { ...loopEnv, NS: ns })) !== 0) failures += 1;
  const perNamespaceMs = (performance.now() - started) / namespaces.length;
  const after = await standIns.child.call<StandInCounts>("counts");
  return {
    kubectl,
    version,
    sample: namespaces.length,
    failures,
    tokenMs,
    listMs,
    perNamespaceMs,
    apiRequestsPerNamespace: (kubeTotal(after) - kubeTotal(before)) / namespaces.length,
    estimatedTotalMs: tokenMs + listMs + perNamespaceMs * extrapolateTo,
    extrapolatedTo: extrapolateTo,
  };
}

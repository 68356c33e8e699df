/**
 * The Kubernetes and AWS stand-ins (test/support) in a process of their own, so that their CPU and
 * memory are not counted as the webhook's. Seeding and counting happen here, over IPC.
 */
import { readFileSync } from "node:fs";
import { startAwsStandIn, type AwsStandIn } from "../../test/support/aws/index.js";
import { ENABLED, LogCapture, leakedSecrets } from "../../test/support/harness.js";
import { startKubeApi, type KubeApiStandIn } from "../../test/support/kube-api/index.js";
import { managedSecret } from "../../test/support/managed-secret.js";
import { startDiscoveryProxy, type DiscoveryProxy } from "../lib/discovery-proxy.js";
import { serveRpc } from "../lib/rpc.js";

export interface StandIns {
  kubeUrl: string;
  kubeToken: string;
  /** AWS_ENDPOINT_URL_ECR / _STS for useAwsEndpoints in the process under test. */
  awsEndpoints: { AWS_ENDPOINT_URL_ECR: string; AWS_ENDPOINT_URL_STS: string };
}

/** Request counts so far: ECR/STS calls, and Kubernetes requests by "verb resource". */
export interface StandInCounts {
  ecr: number;
  sts: number;
  kube: Record<string, number>;
}

let kube: KubeApiStandIn | undefined;
let aws: AwsStandIn | undefined;
let proxy: DiscoveryProxy | undefined;

const need = <T>(value: T | undefined): T => {
  if (value === undefined) throw new Error("stand-ins not started");
  return value;
};

serveRpc(
  {
    async start(): Promise<StandIns> {
      kube = await startKubeApi({ historyLimit: 1000 });
      aws = await startAwsStandIn();
      const kubeToken = kube.kubeConfig().getCurrentUser()?.token ?? "";
      return { kubeUrl: kube.url, kubeToken, awsEndpoints: aws.endpointEnv() };
    },
    addNamespaces({ names }: { names: string[] }) {
      for (const name of names) need(kube).addNamespace(name, { labels: ENABLED });
      return names.length;
    },
    /** Enabled namespaces, each with a managed Secret whose entries expire `hoursLeft` from now. */
    seedStale(arg: { names: string[]; hosts: string[]; hoursLeft: number; secretName: string }) {
      const expiresAt = new Date(Date.now() + arg.hoursLeft * 3_600_000);
      const passwords = Object.fromEntries(arg.hosts.map((h) => [h, "stale-seeded-password"]));
      for (const name of arg.names) {
        need(kube).addNamespace(name, { labels: ENABLED });
        need(kube).put("secrets", name, managedSecret(name, passwords, expiresAt, arg.secretName));
      }
      return arg.names.length;
    },
    counts(): StandInCounts {
      const k: Record<string, number> = {};
      for (const r of need(kube).requests) {
        const key = `${r.verb ?? r.method} ${r.resource ?? r.path}`;
        k[key] = (k[key] ?? 0) + 1;
      }
      return {
        ecr: need(aws).count({ service: "ecr", action: "GetAuthorizationToken" }),
        sts: need(aws).count({ service: "sts" }),
        kube: k,
      };
    },
    /** How many of `names` hold the Secret `secretName`, and how many of those are managed. */
    secretsPresent({ names, secretName }: { names: string[]; secretName: string }) {
      return names.filter((n) => need(kube).get("secrets", n, secretName)).length;
    },
    /** Tokens the AWS stand-in issued that appear in a log file (must be 0). */
    leaks({ file }: { file: string }) {
      const logs = new LogCapture();
      logs.lines.push(...readFileSync(file, "utf8").split("\n").filter(Boolean));
      return leakedSecrets(logs, need(aws)).length;
    },
    async startDiscoveryProxy(tls: { cert: string; key: string }) {
      proxy = await startDiscoveryProxy(need(kube).url, tls);
      return proxy.url;
    },
  },
  async () => {
    await proxy?.close();
    await kube?.close();
    await aws?.close();
  },
);

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseCommandLine } from "../../src/config/command-line.js";
import type { Config } from "../../src/config/config.js";
import type { NamespaceMeta } from "../../src/policy/namespace.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

/** AdmissionReview files recorded from a Kubernetes 1.19 API server. */
export const ADMISSION_FIXTURES = [
  "pod-create-ecr.json",
  "pod-create-generatename-init-existing-secrets.json",
  "pod-create-no-ecr.json",
  "pod-create-dryrun.json",
  "pod-create-by-replicaset.json",
  "serviceaccount-create.json",
] as const;

export type AdmissionFixture = (typeof ADMISSION_FIXTURES)[number];

/** A fresh deep copy on every call, so no test can leak mutations into another. */
export function loadReview(name: AdmissionFixture): any {
  return JSON.parse(readFileSync(`${FIXTURES}admission/${name}`, "utf8"));
}

export function loadReviewText(name: AdmissionFixture): string {
  return readFileSync(`${FIXTURES}admission/${name}`, "utf8");
}

export function loadApiStatus(name: string): any {
  return JSON.parse(readFileSync(`${FIXTURES}apiserver/${name}`, "utf8"));
}

/** A Config built by the real flag parser, so tests use the same defaults as `serve`. */
export function testConfig(argv: string[] = [], env: NodeJS.ProcessEnv = {}): Config {
  return parseCommandLine("serve", argv, env).config;
}

export function enabledNamespace(name = "team-a", annotations: Record<string, string> = {}): NamespaceMeta {
  return { name, labels: { "ecr-webhook.io/inject": "enabled" }, annotations };
}

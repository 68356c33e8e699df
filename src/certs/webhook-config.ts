import {
  AdmissionregistrationV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
} from "@kubernetes/client-node";
import type { Operation } from "fast-json-patch";
import { withRetry } from "../util/backoff.js";
import { apiFailure, isNotFound } from "../kube/api-errors.js";
import { withTimeout } from "../kube/request-options.js";
import { bundleContains, mergeCaBundle } from "./bundle.js";
import { describeFailure, OperatorError } from "./failure.js";

/** One webhook of the configuration, with its caBundle decoded to PEM. */
export interface WebhookTrust {
  readonly name: string;
  readonly caBundle?: string;
}

export function webhookTrust(config: V1MutatingWebhookConfiguration): WebhookTrust[] {
  return (config.webhooks ?? []).map((w) => ({
    name: w.name,
    caBundle: w.clientConfig?.caBundle
      ? Buffer.from(w.clientConfig.caBundle, "base64").toString("utf8")
      : undefined,
  }));
}

/** The bundle to write and the webhooks (by index) to write it to. */
export interface BundlePlan {
  readonly bundle: string;
  readonly indexes: readonly number[];
}

/**
 * `ca` plus every still-valid CA already trusted (by any webhook, or the Secret's previous ca.crt).
 * After a new issue every webhook is written; otherwise only those that do not trust `ca` yet.
 */
export function planCaBundles(input: {
  webhooks: readonly WebhookTrust[];
  ca: string;
  previousCa?: string;
  now: Date;
  onlyMissing: boolean;
}): BundlePlan {
  const { webhooks, ca } = input;
  const bundle = mergeCaBundle(ca, [input.previousCa, ...webhooks.map((w) => w.caBundle)], input.now);
  const indexes = webhooks
    .map((w, i) => (input.onlyMissing && bundleContains(w.caBundle, ca) ? -1 : i))
    .filter((i) => i >= 0);
  return { bundle, indexes };
}

/**
 * One `add` per webhook (it replaces a present caBundle, and creates the absent one the shipped
 * manifest leaves out), behind a `test` of resourceVersion: a configuration changed since it was
 * read (say, a new webhook at an index) makes the patch fail with 422 instead of landing wrongly.
 */
export function caBundlePatch(resourceVersion: string, plan: BundlePlan): Operation[] {
  const value = Buffer.from(plan.bundle).toString("base64");
  return [
    { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
    ...plan.indexes.map((i): Operation => ({
      op: "add",
      path: `/webhooks/${i}/clientConfig/caBundle`,
      value,
    })),
  ];
}

export interface WebhookConfigurations {
  /** The configuration, or undefined when it does not exist. */
  read(name: string): Promise<V1MutatingWebhookConfiguration | undefined>;
  patch(name: string, ops: readonly Operation[]): Promise<void>;
}

export function kubeWebhookConfigurations(kc: KubeConfig): WebhookConfigurations {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch, withTimeout());
  return {
    async read(name) {
      try {
        return await api.readMutatingWebhookConfiguration({ name }, withTimeout());
      } catch (error) {
        if (isNotFound(apiFailure(error))) return undefined;
        throw error;
      }
    },
    async patch(name, ops) {
      await api.patchMutatingWebhookConfiguration({ name, body: ops }, jsonPatch);
    },
  };
}

export function missingWebhookConfiguration(name: string): OperatorError {
  return new OperatorError(
    `MutatingWebhookConfiguration ${name} does not exist: apply webhook-config first (kubectl apply -k webhook-config), then run certs again.`,
  );
}

/** Reads the configuration by name; a missing one is the operator's sentence, not an API error. */
export async function readWebhookConfiguration(
  store: WebhookConfigurations,
  name: string,
): Promise<V1MutatingWebhookConfiguration> {
  let config: V1MutatingWebhookConfiguration | undefined;
  try {
    config = await store.read(name);
  } catch (error) {
    throw new OperatorError(describeFailure(`Reading MutatingWebhookConfiguration ${name}`, error));
  }
  if (!config) throw missingWebhookConfiguration(name);
  if (!config.webhooks?.length) {
    throw new OperatorError(`MutatingWebhookConfiguration ${name} has no webhooks to give a caBundle to.`);
  }
  return config;
}

const ATTEMPTS = 3;

/**
 * Patches the planned caBundles in; when someone changed the configuration in between (422 from the
 * failed test, or 409), it is read again and planned again. Returns how many webhooks were written.
 */
export async function applyCaBundles(
  store: WebhookConfigurations,
  first: V1MutatingWebhookConfiguration,
  plan: (webhooks: WebhookTrust[]) => BundlePlan,
): Promise<{ patched: number; webhooks: number; bundle: string }> {
  const name = first.metadata?.name ?? "";
  try {
    return await withRetry(
      async (attempt) => {
        const config = attempt === 0 ? first : await readWebhookConfiguration(store, name);
        const webhooks = webhookTrust(config);
        const planned = plan(webhooks);
        if (planned.indexes.length > 0) {
          await store.patch(name, caBundlePatch(config.metadata?.resourceVersion ?? "", planned));
        }
        return { patched: planned.indexes.length, webhooks: webhooks.length, bundle: planned.bundle };
      },
      {
        baseMs: 0,
        capMs: 0,
        attempts: 1,
        immediate: ATTEMPTS - 1,
        verdict: (error) => ([422, 409].includes(apiFailure(error).code ?? 0) ? "now" : "fail"),
      },
    );
  } catch (error) {
    if (error instanceof OperatorError) throw error;
    throw new OperatorError(
      describeFailure(`Patching the caBundle of MutatingWebhookConfiguration ${name}`, error),
    );
  }
}

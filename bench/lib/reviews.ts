/** Pod CREATE AdmissionReviews built from the recorded fixture (a pod pulling from private ECR). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./paths.js";

const FIXTURE = join(ROOT, "test", "fixtures", "admission", "pod-create-ecr.json");
/** The registry the fixture's pod pulls from: one identity, one region. */
export const FIXTURE_REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

let fixture: string | undefined;

export function podReview(namespace: string, uid: string): string {
  fixture ??= readFileSync(FIXTURE, "utf8");
  const review = JSON.parse(fixture);
  review.request.uid = uid;
  review.request.namespace = namespace;
  review.request.object.metadata.namespace = namespace;
  return JSON.stringify(review);
}

export const names = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(String(count - 1).length, "0")}`);

/** A pod so annotated is patched by the minimal webhook too: the probe of which webhook is called. */
export const PROBE_ANNOTATION = "bench.ecr-webhook.io/probe";

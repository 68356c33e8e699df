/**
 * A client creating pods through the API server at a steady rate, in a process of its own (run with
 * test/support/child-node.ts) so that the test's own event loop (the balancer) does not pace it.
 * Spec as JSON in ECR_WEBHOOK_LOAD: { server, caFile, token, namespace, image, perSecond, workers }.
 * Runs until SIGTERM, then prints one JSON line: { created, refused, failed, seconds }.
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";

interface LoadSpec {
  server: string;
  caFile: string;
  token: string;
  namespace: string;
  image: string;
  perSecond: number;
  workers: number;
}

const spec = JSON.parse(process.env.ECR_WEBHOOK_LOAD ?? "{}") as LoadSpec;
const agent = new Agent({ keepAlive: true, maxSockets: spec.workers, ca: readFileSync(spec.caFile) });
const counts = { created: 0, refused: 0, failed: 0 };
const started = Date.now();
let stopping = false;

function createPod(n: number): Promise<number> {
  const body = JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    // Named here, not by generateName: among thousands of five-letter suffixes some collide, and an
    // API server older than 1.30 answers those with 409 instead of trying another name.
    metadata: { name: `load-${n}`, labels: { load: "true" }, annotations: { n: String(n) } },
    spec: { containers: [{ name: "c", image: spec.image }] },
  });
  return new Promise((resolve) => {
    const req = request(
      `${spec.server}/api/v1/namespaces/${spec.namespace}/pods`,
      {
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${spec.token}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        },
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end(body);
  });
}

/** Each worker keeps its share of the rate: one pod every workers/perSecond seconds. */
async function worker(index: number): Promise<void> {
  const intervalMs = (1000 * spec.workers) / spec.perSecond;
  let next = Date.now() + (index * intervalMs) / spec.workers;
  for (let n = index; !stopping; n += spec.workers) {
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    next += intervalMs;
    const status = await createPod(n);
    if (status === 201) counts.created++;
    else if (status === 0) counts.failed++;
    else counts.refused++;
  }
}

const running = Promise.all(Array.from({ length: spec.workers }, (_, i) => worker(i)));
process.once("SIGTERM", () => {
  stopping = true;
  void running.then(() => {
    process.stdout.write(`${JSON.stringify({ ...counts, seconds: (Date.now() - started) / 1000 })}\n`);
    agent.destroy();
  });
});
process.stdout.write(`${JSON.stringify({ started: true })}\n`);

/**
 * `BENCH_ONLY=replay npm run bench`: the API server's own request (recorded from kube-apiserver
 * v1.36.2 by `BENCH_ONLY=profile`: its headers and a pod's AdmissionReview as it sends it) replayed
 * at the shipped webhook (default flags, log level info, against the stand-ins) and at the minimal
 * webhook, as the API server sends it: one at a time over one kept-alive connection, a pause after
 * each answer. Rounds in turn; per round each server's p50/p99 and its CPU per review (from /proc,
 * its idle rate over a quiet window subtracted). BENCH_REPLAY_PROFILE=1 adds --cpu-prof and prints
 * the time per review in each stage of the review path. Printed only: this is the fast loop for
 * finding and checking a cost in the review path, the headline figures are the API server's.
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../../test/support/free-port.js";
import { inclusivePerFrame } from "../lib/cpu-profile.js";
import { ROOT, procScript } from "../lib/paths.js";
import { procStats } from "../lib/proc-probe.js";
import { startChild } from "../lib/rpc.js";
import { RUNTIME_FLAGS } from "../lib/runtime-flags.js";
import { startWebhookProcess } from "../lib/servers.js";
import { latencyOf } from "../lib/stats.js";
import type { StandInsProcess } from "../lib/standins-client.js";
import type { WorkDir } from "../lib/workdir.js";

const RECORDED = join(ROOT, "bench", "fixtures", "apiserver-pod-create.json");
const REVIEWS = Number(process.env.BENCH_REPLAY_REVIEWS ?? 3_000);
const ROUNDS = Number(process.env.BENCH_REPLAY_ROUNDS ?? 3);
const PROFILE = process.env.BENCH_REPLAY_PROFILE === "1";

/** Frames of the review path whose time (with all they call) is shown per review. */
const STAGES: Record<string, string[]> = {
  "HTTP parse → route (parserOnIncoming)": ["parserOnIncoming"],
  "express dispatch (app.handle)": ["app.handle"],
  "body: read (readPlainBody / raw-body's getRawBody)": ["readPlainBody", "getRawBody"],
  "body: JSON.parse (parseJson / body-parser's parse)": ["parseJson", "parse"],
  "decide (decide)": ["decide"],
  "log line (pino LOG)": ["LOG"],
  "  of which the write syscall (writeString)": ["writeString"],
  "metrics (observe, inc)": ["observe", "inc", "dec"],
  "answer: encode + write (encodeResponse, end)": ["encodeResponse", "end"],
  "  of which TLS write to the socket (writeUtf8String)": ["writeUtf8String"],
  "garbage collection": ["(garbage collector)"],
};

interface Recorded {
  url: string;
  headers: Record<string, string>;
  body: string;
}

function sender(port: number, ca: string, recorded: Recorded) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  let n = 0;
  const send = () => {
    const body = recorded.body.replace(/"uid":"[^"]+"/, `"uid":"replay-${n++}"`);
    const headers = { ...recorded.headers, "content-length": String(Buffer.byteLength(body)) };
    return new Promise<{ ms: number; text: string }>((resolve, reject) => {
      const started = performance.now();
      const req = request(
        { host: "127.0.0.1", port, method: "POST", path: recorded.url, headers, agent },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString("utf8")));
          res.on("end", () => resolve({ ms: performance.now() - started, text }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  };
  return { send, close: () => agent.destroy() };
}

async function window(pid: number, client: ReturnType<typeof sender>) {
  await sleep(200);
  const quiet = procStats(pid);
  await sleep(2_000);
  const idleMicrosPerS = (procStats(pid).cpuMicros - quiet.cpuMicros) / 2;
  const before = procStats(pid);
  const started = performance.now();
  const ms: number[] = [];
  for (let i = 0; i < REVIEWS; i++) {
    ms.push((await client.send()).ms);
    await sleep(1);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = procStats(pid).cpuMicros - before.cpuMicros - idleMicrosPerS * seconds;
  return { ...latencyOf(ms), cpuMicrosPerReview: cpu / REVIEWS };
}

export async function replayAdmission(
  work: WorkDir,
  { child, info }: StandInsProcess,
  log: (line: string) => void,
): Promise<void> {
  const recorded = JSON.parse(readFileSync(RECORDED, "utf8")) as Recorded;
  const namespace = /"namespace":"([^"]+)"/.exec(recorded.body)![1]!;
  await child.call("addNamespaces", { names: [namespace] });
  const dirs = { webhook: work.file("replay-webhook"), minimal: work.file("replay-minimal") };
  const prof = (dir: string) => (PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []);
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  const webhook = await startWebhookProcess(work, info, {
    logLevel: process.env.BENCH_LOG_LEVEL ?? "info",
    logName: "replay-webhook.log",
    nodeFlags: [...RUNTIME_FLAGS, ...prof(dirs.webhook)],
  });
  const minimal = startChild(procScript("minimal"), { execArgv: [...RUNTIME_FLAGS, ...prof(dirs.minimal)] });
  const minimalPort = await minimal.call<number>("start", {
    certFile: work.certFile,
    keyFile: work.keyFile,
    port: await freePort(),
  });
  const servers = {
    webhook: { pid: webhook.pid, client: sender(webhook.port, work.ca, recorded) },
    minimal: { pid: minimal.pid, client: sender(minimalPort, work.ca, recorded) },
  };
  let reviews = 0;
  try {
    for (const { client } of Object.values(servers)) {
      const first = await client.send();
      if (!first.text.includes('"allowed":true')) throw new Error(`not admitted: ${first.text}`);
      for (let i = 0; i < 300; i++) await client.send();
    }
    reviews += 301;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, { pid, client }] of Object.entries(servers)) {
        const w = await window(pid, client);
        log(
          `round ${round + 1} ${name.padEnd(8)} p50 ${w.p50Ms.toFixed(3)} ms  p99 ${w.p99Ms.toFixed(3)} ms  ` +
            `CPU ${w.cpuMicrosPerReview.toFixed(0)} µs/review`,
        );
      }
      reviews += REVIEWS;
    }
  } finally {
    for (const { client } of Object.values(servers)) client.close();
    await webhook.stop();
    await minimal.stop();
  }
  if (!PROFILE) return;
  for (const [name, dir] of Object.entries(dirs)) {
    const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) continue;
    const perFrame = inclusivePerFrame(join(dir, file));
    log(`\n${name}: µs per review in each stage (CPU profile, start-up and idle included in none)`);
    for (const [stage, frames] of Object.entries(STAGES)) {
      const us = frames.reduce((sum, f) => sum + (perFrame.get(f) ?? 0), 0);
      if (us > 0) log(`  ${stage.padEnd(54)} ${((1000 * us) / reviews).toFixed(1).padStart(7)}`);
    }
  }
}

/**
 * Reading a V8 .cpuprofile (node --cpu-prof): where the samples fell, as self time per function and
 * as time inside named stages (a frame matching a stage and everything it called, counted once).
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Milliseconds sampled in all. */
  totalMs: number;
  /** Milliseconds sampled while the thread was idle (waiting in the event loop). */
  idleMs: number;
  /** Self time per function, largest first. */
  self: { frame: string; ms: number }[];
  /** Time inside each stage; a sample is given to the outermost stage on its stack. */
  stages: Record<string, number>;
}

const frameName = (n: ProfileNode): string => {
  const file = n.callFrame.url.split("/").pop() ?? "";
  return `${n.callFrame.functionName || "(anonymous)"} ${file}:${n.callFrame.lineNumber + 1}`;
};

/**
 * `stages` maps a stage name to a test on a frame's function name and file; the first stage found
 * walking from the root down is the one a sample counts for.
 */
export function summarizeProfile(
  file: string,
  stages: Record<string, (fn: string, url: string) => boolean> = {},
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = new Map<number, string>();
  const resolve = (id: number): string => {
    const known = stageOf.get(id);
    if (known !== undefined) return known;
    const up = parent.get(id);
    const above = up === undefined ? "" : resolve(up);
    const n = byId.get(id)!;
    const here =
      above ||
      (Object.entries(stages).find(([, test]) => test(n.callFrame.functionName, n.callFrame.url))?.[0] ?? "");
    stageOf.set(id, here);
    return here;
  };
  const self = new Map<string, number>();
  const stageMs: Record<string, number> = {};
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    totalUs += us;
    const n = byId.get(id)!;
    if (n.callFrame.functionName === "(idle)") {
      idleUs += us;
      return;
    }
    const name = frameName(n);
    self.set(name, (self.get(name) ?? 0) + us);
    const stage = resolve(id) || "other";
    stageMs[stage] = (stageMs[stage] ?? 0) + us / 1000;
  });
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    self: [...self.entries()].map(([frame, us]) => ({ frame, ms: us / 1000 })).sort((a, b) => b.ms - a.ms),
    stages: stageMs,
  };
}

/**
 * Milliseconds each function name was on the stack (it, or anything it called, running), a sample
 * counted once per name however deep the recursion. Idle samples count for none.
 */
export function inclusivePerFrame(file: string): Map<string, number> {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const perNode = new Map<number, number>();
  profile.samples.forEach((id, i) => perNode.set(id, (perNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const out = new Map<string, number>();
  for (const [id, us] of perNode) {
    if (byId.get(id)!.callFrame.functionName === "(idle)") continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at)!.callFrame.functionName;
      if (seen.has(name)) continue;
      seen.add(name);
      out.set(name, (out.get(name) ?? 0) + us / 1000);
    }
  }
  return out;
}

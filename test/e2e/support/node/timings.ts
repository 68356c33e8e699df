/**
 * Pull timings as the kubelet measured them: its `Pulled` Events say how long each pull took
 * ("Successfully pulled image … in 412ms (412ms including waiting)"), printed as they are read.
 */

const PULLED = /Successfully pulled image "([^"]+)" in ([\d.]+m?s) \(([\d.]+m?s) including waiting\)/;

const toMs = (text: string) =>
  text.endsWith("ms") ? Number(text.slice(0, -2)) : Number(text.slice(0, -1)) * 1000;

/** `Pulled: Successfully pulled image "x" in 1.2s (…)` → { image: "x", ms: 1200 }. */
export function parsePulled(event: string): { image: string; ms: number; waitingMs: number } | undefined {
  const match = PULLED.exec(event);
  return match ? { image: match[1]!, ms: toMs(match[2]!), waitingMs: toMs(match[3]!) } : undefined;
}

export const pullTimings = {
  /** Prints the pulls among a pod's Events, under a label; returns them. */
  record(label: string, events: readonly string[]): { image: string; ms: number }[] {
    const pulls = events.map(parsePulled).filter((p) => p !== undefined);
    for (const pull of pulls) {
      const image = pull.image.split("/").slice(-2).join("/");
      console.log(`e2e node pull: ${label}: ${image} in ${pull.ms} ms (${pull.waitingMs} ms with waiting)`);
    }
    return pulls;
  },
};

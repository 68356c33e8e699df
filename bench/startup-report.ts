/** The start-up rows: `refresh` from spawn to its first request, cold and with the compile cache. */
import type { Row } from "./lib/stats.js";
import { STARTUP, type StartupResult } from "./scenarios/startup.js";

export function startupRows(r: StartupResult): Row[] {
  const s = `start-up (Node ${r.node})`;
  const of = `p50 of ${STARTUP.runs}, in turns`;
  return [
    { scenario: s, figure: `refresh: spawn to first request, cold (${of})`, value: r.coldMs.p50, unit: "ms" },
    {
      scenario: s,
      figure: `refresh: spawn to first request, image's compile cache, read-only (${of})`,
      value: r.cachedMs.p50,
      unit: "ms",
    },
    { scenario: s, figure: "start-up: cold ÷ with the compile cache", value: r.speedUp, unit: "×" },
    { scenario: s, figure: "compile cache written at image build", value: r.cacheBytes / 1024, unit: "KiB" },
  ];
}

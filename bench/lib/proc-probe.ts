/**
 * CPU time and peak memory of another process, read from /proc as `ps` and `top` do, so that the
 * process measured runs unmodified (the shipped CLI bundle, not a harness around it).
 */
import { readFileSync, writeFileSync } from "node:fs";

/** Linux reports utime/stime in clock ticks; USER_HZ is 100 on every Linux build Node supports. */
const TICK_MICROS = 10_000;

export interface ProcStats {
  /** User + system CPU time of the process (all its threads) so far, in microseconds. */
  readonly cpuMicros: number;
  readonly rssBytes: number;
  /** VmHWM: the highest RSS since the process started or since resetPeak(). */
  readonly peakRssBytes: number;
}

export function procStats(pid: number): ProcStats {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { cpuMicros: (utime + stime) * TICK_MICROS, rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM") };
}

/** Starts the peak afresh: writing "5" to clear_refs resets VmHWM to the current RSS. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

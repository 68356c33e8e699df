/**
 * The variables through which a shifted clock reaches a child process. CI runs the fast suite a
 * second time under libfaketime (`faketime '+400d' npm test`), which works by LD_PRELOAD and the
 * FAKETIME* variables; a child started with a scrubbed environment would otherwise run on the real
 * clock and disagree with the test about every certificate, token and Lease time. Empty when the
 * clock is not shifted.
 */
export function shiftedClockEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && (entry[0] === "LD_PRELOAD" || entry[0].startsWith("FAKETIME")),
    ),
  );
}

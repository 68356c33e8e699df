import type { StandIns } from "../procs/standins.js";
import { procScript } from "./paths.js";
import { startChild, type Child } from "./rpc.js";

export interface StandInsProcess {
  child: Child;
  info: StandIns;
}

/** Fresh stand-ins in their own process for one scenario; always stopped afterwards. */
export async function withStandIns<T>(run: (standIns: StandInsProcess) => Promise<T>): Promise<T> {
  const child = startChild(procScript("standins"));
  try {
    const info = await child.call<StandIns>("start");
    return await run({ child, info });
  } finally {
    await child.stop();
  }
}

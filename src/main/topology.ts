import type { Logger } from "../log.ts";
import type { Config } from "./config.ts";

/** A running server in one of the modes. */
export interface Topology {
  /** The bound TCP echo port (the real one when 0 was asked for). */
  readonly port: number;
  /** Stop accepting, let open connections finish for up to `ms`, close the rest, and resolve. */
  stop(ms: number): Promise<void>;
}

export type StartTopology = (config: Config, log: Logger) => Promise<Topology>;

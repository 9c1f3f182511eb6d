import type { Logger } from "../log.ts";
import type { Ports } from "../messages.ts";
import type { Config } from "./config.ts";

/** A running server in one of the modes. */
export interface Topology {
  /** The bound ports (the real ones where 0 was asked for; null when off). */
  readonly ports: Ports;
  /** Every worker is up and taking connections (false while one is being replaced). */
  ready(): boolean;
  /** Stop accepting, let open connections finish for up to `ms`, close the rest, and resolve. */
  stop(ms: number): Promise<void>;
}

export type StartTopology = (config: Config, log: Logger) => Promise<Topology>;

import type { Mode } from "../config/config.ts";
import type { StartTopology } from "../topology.ts";
import { startClusterRoundRobin, startClusterShared } from "./cluster.ts";
import { startHandoff } from "./handoff.ts";
import { startReuseport, startThreads } from "./reuseport.ts";
import { startSingle } from "./single.ts";

export const TOPOLOGIES: Readonly<Record<Mode, StartTopology>> = {
  single: startSingle,
  handoff: startHandoff,
  cluster: startClusterRoundRobin,
  "cluster-shared": startClusterShared,
  reuseport: startReuseport,
  threads: startThreads,
};

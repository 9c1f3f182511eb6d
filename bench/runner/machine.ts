/** The machine a bench ran on, recorded with every result. */
import { availableParallelism, cpus, loadavg, release, totalmem, type } from "node:os";

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memory_gib: number;
  readonly node: string;
  readonly os: string;
  /** 1-minute load average when the bench started: another tenant's load shows here. */
  readonly load_at_start: number;
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${type()} ${release()}`,
    load_at_start: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

export const describeMachine = (m: Machine): string =>
  `${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, Node ${m.node}, ${m.os} (load ${m.load_at_start} at start)`;

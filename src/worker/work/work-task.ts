/** The piscina task: runs on a pool thread (see work.ts). */
import { sha256Rounds } from "./digest.ts";

export interface WorkTask {
  readonly data: Uint8Array;
  readonly rounds: number;
}

export default function run(task: WorkTask): string {
  return sha256Rounds(task.data, task.rounds);
}

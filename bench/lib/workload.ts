/** What the built-in load clients share: their result, and the payload they send and check. */

export interface LoadResult {
  /** Units done: connections for churn, messages for steady. */
  readonly count: number;
  readonly errors: number;
  readonly mismatches: number;
  readonly seconds: number;
}

export type Workload = (
  host: string,
  port: number,
  concurrency: number,
  durationMs: number,
) => Promise<LoadResult>;

/** A payload whose bytes differ from their neighbours, so a dropped or moved byte shows. */
export function pattern(size: number): Buffer {
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 31 + 7) & 0xff;
  return payload;
}

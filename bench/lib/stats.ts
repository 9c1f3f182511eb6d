/** The arithmetic of comparisons: medians and spreads of repetitions, ratios, CPU per unit. */

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function spread(xs: readonly number[]): Spread {
  return {
    median: median(xs),
    min: xs.length ? Math.min(...xs) : Number.NaN,
    max: xs.length ? Math.max(...xs) : Number.NaN,
    n: xs.length,
  };
}

/** a / b, NaN when b is not a positive number (no baseline, nothing to compare with). */
export const ratio = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);

/** Microseconds of CPU per unit of work (message or connection); NaN when nothing was done. */
export const cpuMicrosPer = (cpuSeconds: number, units: number): number =>
  units > 0 ? (cpuSeconds * 1e6) / units : Number.NaN;

/** Cores busy on average over a span: CPU seconds / wall seconds. */
export const coresUsed = (cpuSeconds: number, wallSeconds: number): number =>
  wallSeconds > 0 ? cpuSeconds / wallSeconds : Number.NaN;

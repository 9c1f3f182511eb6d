/**
 * Latency histograms (HdrHistogram): recorded in nanoseconds by each client thread, sent to the
 * main thread in HDR's compressed encoding, added together there. Adding HDR histograms of the
 * same layout is exact: counts per bucket just sum, so the merged percentiles are the ones a
 * single histogram fed every value would give. (Counts are kept per bucket, 3 significant
 * digits: a value such as the max comes back as the top of its bucket, within 0.1%.)
 */
import * as hdr from "hdr-histogram-js";

/** 60 s: open-loop latency, measured from the intended send time, can be far above the timeout. */
const HIGHEST_NS = 60e9;

export type Histogram = hdr.Histogram;

export function createHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_NS,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export const encodeHistogram = (h: Histogram): string => hdr.encodeIntoCompressedBase64(h);

export function mergeHistograms(encoded: readonly string[]): Histogram {
  const total = createHistogram();
  for (const e of encoded) total.add(hdr.decodeFromCompressedBase64(e, 32, false));
  return total;
}

export interface LatencySummary {
  readonly p50_us: number;
  readonly p90_us: number;
  readonly p99_us: number;
  readonly p999_us: number;
  readonly max_us: number;
  readonly mean_us: number;
  /** Values recorded. */
  readonly samples: number;
}

const us = (ns: number): number => Math.round(ns / 10) / 100; // two decimals of a microsecond

export function summarize(h: Histogram): LatencySummary {
  const empty = h.totalCount === 0;
  return {
    p50_us: empty ? 0 : us(h.getValueAtPercentile(50)),
    p90_us: empty ? 0 : us(h.getValueAtPercentile(90)),
    p99_us: empty ? 0 : us(h.getValueAtPercentile(99)),
    p999_us: empty ? 0 : us(h.getValueAtPercentile(99.9)),
    max_us: empty ? 0 : us(h.maxValue),
    mean_us: empty ? 0 : us(h.mean),
    samples: h.totalCount,
  };
}

/**
 * The bench's pictures: vega-lite specs compiled to vega and rendered to SVG by vega's headless
 * view (no browser, no canvas): throughput against workers per mode (steady), latency
 * percentiles per variant (steady and open loop), connections/s per variant (churn), the http and
 * work suites, and the projection past this machine's cores (projection.ts).
 */
import * as vega from "vega";
import type { TopLevelSpec } from "vega-lite";
import { compile } from "vega-lite";
import { projectionData } from "./projection.ts";
import type { Row } from "./summary.ts";

type Datum = Record<string, string | number>;

export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Facets in the order the scenarios ran, not alphabetical ("16 KiB" before "64 B"). */
const order = (data: readonly Datum[]): string[] => [
  ...new Set(data.map((d) => String(d.scenario))),
];

const byWorkload = (rows: readonly Row[], prefix: string) =>
  rows.filter((r) => r.suite === "echo" && r.scenario.startsWith(prefix) && r.runs > r.failed);

type FacetSpec = Extract<TopLevelSpec, { facet: unknown }>["spec"];

/** One small chart per scenario, four to a row, each with its own y scale. */
function faceted(title: string, data: Datum[], spec: FacetSpec): TopLevelSpec | undefined {
  if (data.length === 0) return undefined;
  return {
    title,
    data: { values: data },
    facet: { field: "scenario", title: null, sort: order(data) },
    columns: 4,
    spec,
    resolve: { scale: { y: "independent" } },
  };
}

/** A variant's rate per scenario: median, min, max. */
const rates = (rows: readonly Row[]): Datum[] =>
  rows.map((r) => ({
    scenario: r.scenario,
    mode: r.mode,
    variant: r.variant,
    workers: r.workers,
    median: r.rate.median,
    min: r.rate.min,
    max: r.rate.max,
    bound: r.clientBound > 0 ? CLIENT_BOUND : "no",
  }));

const range = { y: { field: "min", type: "quantitative" }, y2: { field: "max" } } as const;

/** Rates the client (or the machine) limited are drawn faint, as the tables flag them. */
const CLIENT_BOUND = "client-bound";
const faint = {
  field: "bound",
  type: "ordinal",
  title: null,
  scale: { domain: ["no", CLIENT_BOUND], range: [1, 0.3] },
  legend: {
    labelLimit: 300,
    labelExpr: `datum.label === 'no' ? 'measured the server' : 'client-bound (a round)'`,
  },
} as const;

export function throughputSpec(rows: readonly Row[]): TopLevelSpec | undefined {
  const x = { field: "workers", type: "ordinal", title: "workers" } as const;
  const color = { field: "mode", type: "nominal" } as const;
  return faceted(
    "Steady echo: messages/s by workers (median, min–max)",
    rates(byWorkload(rows, "steady")),
    {
      width: 180,
      height: 200,
      layer: [
        { mark: "line", encoding: { x, y: { field: "median", type: "quantitative" }, color } },
        {
          mark: { type: "point", filled: true, size: 60 },
          encoding: {
            x,
            y: { field: "median", type: "quantitative", title: "msg/s" },
            color,
            opacity: faint,
          },
        },
        { mark: "rule", encoding: { x, ...range, color } },
      ],
    },
  );
}

export function latencySpec(rows: readonly Row[]): TopLevelSpec | undefined {
  const data: Datum[] = [];
  for (const r of [...byWorkload(rows, "steady"), ...byWorkload(rows, "open")]) {
    for (const [p, v] of [
      ["p50", r.p50],
      ["p90", r.p90],
      ["p99", r.p99],
      ["p99.9", r.p999],
    ] as const)
      data.push({ scenario: r.scenario, variant: r.variant, percentile: p, us: Math.max(v, 1) });
  }
  return faceted("Latency percentiles by variant (µs, log scale; medians over rounds)", data, {
    width: 260,
    height: 160,
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "percentile", type: "ordinal", sort: ["p50", "p90", "p99", "p99.9"] },
      y: { field: "us", type: "quantitative", scale: { type: "log" }, title: "µs" },
      color: { field: "variant", type: "nominal" },
    },
  });
}

/** Bars of each variant's rate, one facet per scenario. */
function barsSpec(title: string, data: Datum[], unit: string): TopLevelSpec | undefined {
  const x = {
    field: "variant",
    type: "nominal",
    title: null,
    sort: null,
    axis: { labelLimit: 240 },
  } as const;
  return faceted(title, data, {
    width: 220,
    height: 200,
    layer: [
      {
        mark: "bar",
        encoding: {
          x,
          y: { field: "median", type: "quantitative", title: unit },
          color: { field: "variant", type: "nominal", legend: null },
          opacity: faint,
        },
      },
      { mark: "rule", encoding: { x, ...range } },
    ],
  });
}

export function churnSpec(rows: readonly Row[]): TopLevelSpec | undefined {
  return barsSpec(
    "Churn: connections/s by variant (median, min–max)",
    rates(byWorkload(rows, "churn")),
    "conn/s",
  );
}

/** The http, websocket or work suite: each variant's rate beside the suite's baseline. */
export function suiteSpec(rows: readonly Row[], suite: string, title: string, unit: string) {
  return barsSpec(title, rates(rows.filter((r) => r.suite === suite && r.runs > r.failed)), unit);
}

/** Projected rate against cores per variant (log-log), with the measured point. */
export function projectionSpec(rows: readonly Row[], machineCores: number) {
  const data = projectionData(rows, machineCores);
  const x = { field: "cores", type: "quantitative", scale: { type: "log", base: 2 } } as const;
  const y = {
    field: "rate",
    type: "quantitative",
    scale: { type: "log" },
    title: "per s",
  } as const;
  const color = { field: "variant", type: "nominal", legend: { labelLimit: 240 } } as const;
  return faceted(
    `Projected ceilings past ${machineCores} cores (a model: see summary.md); dots: measured`,
    data,
    {
      width: 220,
      height: 200,
      layer: [
        {
          mark: { type: "line", strokeDash: [4, 3] },
          transform: [{ filter: "datum.kind === 'projected'" }],
          encoding: { x, y, color },
        },
        {
          mark: { type: "point", filled: true, size: 60 },
          transform: [{ filter: "datum.kind === 'measured'" }],
          encoding: { x, y, color },
        },
      ],
    },
  );
}

/** Every chart there is data for, by file name. */
export async function charts(
  rows: readonly Row[],
  machineCores: number,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const specs = [
    ["throughput.svg", throughputSpec(rows)],
    ["latency.svg", latencySpec(rows)],
    ["churn.svg", churnSpec(rows)],
    ["http.svg", suiteSpec(rows, "http", "HTTP echo: echoplex vs minimal node:http", "req/s")],
    [
      "websocket.svg",
      suiteSpec(rows, "websocket", "WebSocket echo vs TCP echo, one server", "msg/s"),
    ],
    ["work.svg", suiteSpec(rows, "work", "~50 µs of CPU per message: inline vs offload", "msg/s")],
    ["projection.svg", projectionSpec(rows, machineCores)],
  ] as const;
  for (const [name, spec] of specs) if (spec) out.set(name, await toSvg(spec));
  return out;
}

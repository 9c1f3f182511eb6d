/**
 * /metrics: Prometheus text (prom-client), read at scrape time from what the workers last
 * reported (every second) and from the primary itself. Counters restart from 0 when a worker
 * is replaced, which Prometheus's rate() treats as a reset.
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { WorkerStats } from "../messages.ts";
import type { TopologyMetrics } from "./topology.ts";

type Source = () => TopologyMetrics;

/** The per-worker series: name, help, type, and the value from a worker's latest report. */
const PER_WORKER: readonly [string, string, "counter" | "gauge", (s: WorkerStats) => number][] = [
  ["echoplex_connections_open", "Connections open now", "gauge", (s) => s.open],
  ["echoplex_connections_total", "Connections served", "counter", (s) => s.served],
  [
    "echoplex_connections_refused_total",
    "Connections closed at once over --max-connections",
    "counter",
    (s) => s.refused,
  ],
  ["echoplex_received_bytes_total", "Bytes read from clients", "counter", (s) => s.bytesIn],
  ["echoplex_sent_bytes_total", "Bytes written to clients", "counter", (s) => s.bytesOut],
  [
    "echoplex_event_loop_delay_p99_seconds",
    "p99 of the event loop's delay over the last second",
    "gauge",
    (s) => s.loopDelayP99,
  ],
  [
    "echoplex_event_loop_delay_max_seconds",
    "Longest event loop delay over the last second",
    "gauge",
    (s) => s.loopDelayMax,
  ],
];

export function createMetrics(source: Source, ready: () => boolean): Registry {
  const registry = new Registry();
  for (const [name, help, type, value] of PER_WORKER) {
    const Metric = type === "counter" ? Counter : Gauge;
    new Metric({
      name,
      help,
      labelNames: ["worker"],
      registers: [registry],
      collect(this: Counter | Gauge) {
        this.reset();
        for (const [worker, stats] of source().workers) {
          const labels = { worker: String(worker) };
          if (this instanceof Gauge) this.set(labels, value(stats));
          else this.inc(labels, value(stats));
        }
      },
    });
  }
  new Counter({
    name: "echoplex_udp_datagrams_total",
    help: "UDP datagrams received, by outcome: answered, or dropped (reflection, rateLimited, queueFull)",
    labelNames: ["worker", "outcome"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [worker, { udp }] of source().workers) {
        if (udp === null) continue;
        for (const outcome of ["answered", "reflection", "rateLimited", "queueFull"] as const) {
          this.inc({ worker: String(worker), outcome }, udp[outcome]);
        }
      }
    },
  });
  new Gauge({
    name: "echoplex_ready",
    help: "1 when every worker is up and no drain is under way (as /readyz)",
    registers: [registry],
    collect() {
      this.set(ready() ? 1 : 0);
    },
  });
  new Counter({
    name: "echoplex_worker_restarts_total",
    help: "Workers replaced after they exited",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(source().restarts);
    },
  });
  new Gauge({
    name: "echoplex_handoff_queue_depth",
    help: "handoff: connections accepted and waiting for a worker",
    registers: [registry],
    collect() {
      this.set(source().queued ?? 0);
    },
  });
  return registry;
}

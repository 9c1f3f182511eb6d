/**
 * /metrics: Prometheus text (prom-client), read at scrape time from what the workers last
 * reported (every second) and from the primary itself. Counters restart from 0 when a worker
 * is replaced, which Prometheus's rate() treats as a reset.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { WorkerStats } from "../messages.ts";
import type { TopologyMetrics } from "./topology.ts";

type Source = () => TopologyMetrics;

/**
 * handoff: from the primary's accept to the worker's acknowledgement that it holds the
 * connection (child_process's NODE_HANDLE_ACK); owned and observed by the dispatcher, which
 * makes it here. Connections that workers accept themselves during a spill are not in it.
 */
export function handoffHistogram(): Histogram {
  return new Histogram({
    name: "echoplex_handoff_seconds",
    help: "handoff: time from accepting a connection to the worker holding it",
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1],
    registers: [],
  });
}

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
  [
    "echoplex_http_fast_path_total",
    "HTTP requests the fast path answered without node:http (also in echoplex_messages_total)",
    "counter",
    (s) => s.fast.httpFast,
  ],
  [
    "echoplex_websocket_fast_path_total",
    "WebSocket messages the fast path echoed without ws (also in echoplex_messages_total)",
    "counter",
    (s) => s.fast.wsFast,
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

/** Per-worker counters with a second label: name, help, the label, and its values' counts. */
const LABELLED: readonly [string, string, string, (s: WorkerStats) => [string, number][]][] = [
  [
    "echoplex_udp_datagrams_total",
    "UDP datagrams received, by outcome: answered, or dropped (reflection, rateLimited, queueFull, loop, busy, failed)",
    "outcome",
    ({ udp }) =>
      udp === null
        ? []
        : [
            ["answered", udp.answered],
            ["reflection", udp.reflection],
            ["rateLimited", udp.rateLimited],
            ["queueFull", udp.queueFull],
            ["loop", udp.loop],
            ["busy", udp.busy],
            ["failed", udp.failed],
          ],
  ],
  [
    "echoplex_access_log_lines_total",
    "Access log lines (--access-log), by outcome: written, or dropped because the loop's buffer was full (the echo never waits for its log)",
    "outcome",
    ({ accessLog: a }) => [
      ["written", a.lines - a.dropped],
      ["dropped", a.dropped],
    ],
  ],
  [
    "echoplex_errors_total",
    "Errors by kind: accept, connection (reset, broken pipe), tls (handshake), http (malformed request), websocket (protocol error), proxy (no valid PROXY protocol header), internal (our own exception serving one client, which was closed)",
    "kind",
    (s) => Object.entries(s.errors),
  ],
  [
    "echoplex_messages_total",
    "Messages echoed, by protocol: http (requests), websocket (messages); TCP echo is a byte stream",
    "protocol",
    (s) => Object.entries(s.messages),
  ],
  [
    "echoplex_limit_drops_total",
    "Connections, requests, messages and datagrams dropped by a limit, by the flag that set it",
    "limit",
    (s) => [
      ["max-connections", s.refused],
      ["idle-timeout", s.limits.idleTimeout],
      ["max-body", s.limits.maxBody],
      ["max-message", s.limits.maxMessage],
      ["header-timeout", s.limits.headerTimeout],
      ["http-buffer", s.limits.httpBuffer],
      ["handshake-timeout", s.limits.handshakeTimeout],
      ["request-timeout", s.limits.requestTimeout],
      ["max-streaming", s.limits.streaming],
      ["udp-rate", s.udp?.rateLimited ?? 0],
    ],
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
  for (const [name, help, label, values] of LABELLED) {
    new Counter({
      name,
      help,
      labelNames: ["worker", label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [worker, stats] of source().workers) {
          for (const [value, n] of values(stats))
            this.inc({ worker: String(worker), [label]: value }, n);
        }
      },
    });
  }
  faultsCounter(registry, source);
  new Counter({
    name: "echoplex_primary_errors_total",
    help: "handoff: the primary's own errors by kind: accept, handoff-refused (a worker out of descriptors could not take a handle; it went to another worker)",
    labelNames: ["kind"],
    registers: [registry],
    collect() {
      this.reset();
      const s = source();
      this.inc({ kind: "accept" }, s.acceptErrors ?? 0);
      this.inc({ kind: "handoff-refused" }, s.handoffsRefused ?? 0);
    },
  });
  const handoff = source().handoffSeconds;
  if (handoff !== undefined) registry.registerMetric(handoff);
  new Gauge({
    name: "echoplex_ready",
    help: "1 when /readyz says ready: a worker is up, no drain or rolling restart under way",
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

/** echoplex_faults_total{worker,protocol,kind}: faults injected on purpose, from each worker's report. */
function faultsCounter(registry: Registry, source: Source): void {
  new Counter({
    name: "echoplex_faults_total",
    help: "Faults injected on purpose (--faults or a request's echo_status=503:10, ...; --tcp-faults, --udp-faults, --ws-faults), by protocol (http, http2, tcp, udp, websocket) and kind as the flags name them",
    labelNames: ["worker", "protocol", "kind"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [worker, stats] of source().workers)
        for (const [protocol, kinds] of Object.entries(stats.faults))
          for (const [kind, n] of Object.entries(kinds as Record<string, number>))
            this.inc({ worker: String(worker), protocol, kind }, n);
    },
  });
}

/** The load client's human-readable report. */
import type { CapacityReport, StepRow } from "./capacity.ts";
import type { LoadReport } from "./run.ts";

const n = (x: number): string => Math.round(x).toLocaleString("en-US");

export function formatReport(r: LoadReport): string {
  const what =
    r.workload === "churn"
      ? `churn: ${r.connections} connect loops, one ${r.size}-byte round trip each`
      : r.workload === "open-churn"
        ? `open-loop churn: ${n(r.rate)}${r.rate_end === undefined ? "" : `..${n(r.rate_end)}`} new connections/s (at most ${r.connections} open), one ${r.size}-byte round trip each`
        : r.workload === "open"
          ? `open loop: ${r.connections} connections x ${r.size} B at ${n(r.rate)}${r.rate_end === undefined ? "" : `..${n(r.rate_end)}`} msg/s`
          : `steady: ${r.connections} connections x ${r.size} B, pipeline ${r.pipeline}`;
  const unit = r.workload === "churn" || r.workload === "open-churn" ? "conn/s" : "msg/s";
  const cores = r.client_thread_cores.map((c) => c.toFixed(2)).join(" ");
  const names = {
    tcp: "",
    ws: " over WebSocket",
    udp: " over UDP",
    http: " over HTTP",
    http2: " over HTTP/2",
  };
  const over = `${names[r.protocol]}${r.tls ? " over TLS" : ""}`;
  return [
    `${what}${over}; ${r.seconds} s on ${r.host}:${r.port}, ${r.threads} client thread${r.threads > 1 ? "s" : ""}`,
    `  throughput  ${n(r.msgs_per_s)} ${unit}, ${r.mb_per_s} MB/s echoed`,
    `  latency µs  p50 ${r.p50_us}  p90 ${r.p90_us}  p99 ${r.p99_us}  p99.9 ${r.p999_us}  max ${r.max_us}`,
    ...(r.workload === "open" || r.workload === "open-churn"
      ? [
          `  from send  p50 ${r.service_p50_us}  p99 ${r.service_p99_us}  (latency above counts from the intended send time)`,
        ]
      : []),
    `  failures    errors ${r.errors}  timeouts ${r.timeouts}  mismatches ${r.mismatches}  stalled connections ${r.stalled}`,
    `  in window   ${r.failed_in_window} failed: ${r.failed_pct}% of attempts`,
    ...(r.protocol === "udp"
      ? [`  datagrams   lost ${r.lost}  reordered ${r.reordered}  late ${r.late}`]
      : []),
    ...(r.udp_limit_suspected
      ? [
          "  UDP LIMIT?  replies stopped while the client had room: a limit at the server looks likely (echoplex: --udp-rate per source address, --udp-trusted exempts), or the network dropped them",
        ]
      : []),
    `  client CPU  ${r.client_cpu_s} s; cores per thread: ${cores}${r.client_saturated ? "  CLIENT-BOUND: a client thread was saturated" : ""}`,
  ].join("\n");
}

const ms = (us: number): string => (us / 1000).toFixed(us >= 10_000 ? 1 : 3);

/** One step of the capacity search. */
export function formatStep(s: StepRow, unit = "msg/s"): string {
  const verdict = s.met ? "met" : `missed: ${s.breaches.join(", ")}`;
  return `  ${s.phase.padEnd(7)} ${n(s.rate).padStart(10)} ${unit} offered: ${n(s.msgs_per_s)} back, p50 ${ms(s.p50_us)} ms, p99 ${ms(s.p99_us)} ms, p99.9 ${ms(s.p999_us)} ms, failed ${s.failed}; ${verdict}${s.client_limited ? " (CLIENT-BOUND: the client could not offer more)" : ""}`;
}

/** The search's outcome. */
export function formatCapacity(r: CapacityReport, unit = "msg/s"): string {
  if (r.capacity_msgs_per_s === 0)
    return `capacity: no rate tried met ${r.slo}${r.confirmed ? "" : " (or held on confirmation)"}`;
  const above = r.upper_msgs_per_s === null ? "" : `; ${n(r.upper_msgs_per_s)} ${unit} missed`;
  const limit = r.client_limited
    ? "; the client was the limit: at least this much, run more client hosts or threads"
    : "";
  return `capacity: ${n(r.capacity_msgs_per_s)} ${unit} within ${r.slo} (${r.confirmed ? "confirmed" : "not confirmed"}${above}${limit})`;
}

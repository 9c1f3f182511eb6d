/**
 * HTTP/1.1 echo load through autocannon's programmatic API: POST bodies of `size` bytes, each
 * response body checked against the request body (autocannon counts differences as
 * mismatches). Same options and report as the TCP client, so the runner treats both alike.
 * Latency comes from autocannon's own histogram, whose resolution is coarser than ours.
 */
import autocannon from "autocannon";
import { fail } from "../../errors.ts";
import type { LoadOptions, LoadReport, WindowHooks } from "../run.ts";
import { failedShare, loadHeader, SATURATED } from "../run.ts";

export async function runHttpLoad(o: LoadOptions, hooks?: WindowHooks): Promise<LoadReport> {
  if (o.churn)
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: "--protocol http --churn",
      problem: "churn is TCP's (a connection per message); drop one of them",
    });
  let body = "";
  for (let i = 0; i < o.size; i++) body += String.fromCharCode(97 + ((i * 7) % 26));
  const common = {
    url: `${o.tls === true ? "https" : "http"}://${o.host.includes(":") ? `[${o.host}]` : o.host}:${o.port}/`,
    method: "POST" as const,
    body,
    expectBody: body,
    connections: o.connections,
    pipelining: o.pipeline,
    timeout: o.timeoutMs / 1000,
    ...(o.rate > 0 ? { overallRate: o.rate } : {}),
  };
  if (o.warmupSeconds > 0) await autocannon({ ...common, duration: o.warmupSeconds });
  hooks?.open?.();
  const cpu0 = process.cpuUsage();
  const r = await autocannon({ ...common, duration: o.seconds });
  const cpu = process.cpuUsage(cpu0);
  hooks?.close?.();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  if (r["2xx"] === 0 && r.errors > 0)
    throw Object.assign(new Error("no HTTP request succeeded"), { code: "ECONNREFUSED" });
  const us = (ms: number) => Math.round(ms * 1000 * 100) / 100;
  const cores = Math.round((cpuSeconds / r.duration) * 100) / 100;
  return {
    ...loadHeader(o, o.rate > 0 ? "open" : "steady", 1, r.duration),
    msgs_per_s: Math.round(r["2xx"] / r.duration),
    mb_per_s: Math.round((r.throughput.total / r.duration / 1e6) * 100) / 100,
    messages: r["2xx"],
    p50_us: us(r.latency.p50),
    p90_us: us(r.latency.p90),
    p99_us: us(r.latency.p99),
    p999_us: us(r.latency.p99_9),
    max_us: us(r.latency.max),
    mean_us: us(r.latency.mean),
    samples: r["2xx"],
    errors: r.errors - r.timeouts + r.non2xx,
    stalled: 0,
    timeouts: r.timeouts,
    mismatches: r.mismatches,
    // The measured run is one of its own (the warm-up was another): all its failures are in it.
    ...failedShare(r["2xx"], r.errors + r.non2xx),
    client_cpu_s: Math.round(cpuSeconds * 1000) / 1000,
    client_thread_cores: [cores],
    client_saturated: cores >= SATURATED,
    service_p50_us: us(r.latency.p50),
    service_p99_us: us(r.latency.p99),
    histogram: "",
  };
}

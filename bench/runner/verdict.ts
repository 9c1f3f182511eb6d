/**
 * The sentences under the http and work tables: who won, by how much, and why, in the run's own
 * figures. They state what was measured; a client-bound comparison says so instead of a winner.
 */
import type { Section } from "./plan.ts";
import type { Row } from "./summary.ts";

const x = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}×` : "–");
const int = (v: number): string =>
  Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "–";
const us = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)} µs` : "–");
const cores = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : "–");
const range = (r: Row): string =>
  `${x(r.vsSingle.median)} (${x(r.vsSingle.min)}–${x(r.vsSingle.max)})`;

function boundNote(rows: readonly Row[]): string {
  const bound = rows.filter((r) => r.clientBound > 0);
  if (bound.length === 0) return "";
  return ` Caution: ${bound.map((r) => r.variant).join(", ")} had client-bound runs (${bound[0]?.boundReason}); there the ratio measures the machine, not only the server.`;
}

/**
 * Issue 13's bar, on the 64 B keep-alive scenario: echoplex's HTTP echo (with its fast path)
 * against node:http written the obvious way, ≥ 1.8× with a p99 no worse.
 */
export function httpVerdict(all: readonly Row[]): string {
  const rows = all.filter((r) => r.scenario === "http steady 64 B x50");
  const base = rows.find((r) => r.baseline);
  const ours = rows.find((r) => r.variant === "echoplex single");
  if (base === undefined || ours === undefined || ours.runs === ours.failed) return "";
  const { median: ratio, min, max } = ours.vsSingle;
  const verdict =
    min >= 1
      ? "as fast or faster in every round"
      : max < 1
        ? "slower in every round"
        : ratio >= 1
          ? "level: at least as fast on the median, within the rounds' spread"
          : "level within the rounds' spread, though slower on the median";
  const p99 = ours.p99 <= base.p99 ? "no worse" : "worse";
  const met =
    ours.clientBound > 0
      ? `cannot tell: the load client was the limit in ${ours.clientBound} of ${ours.runs} runs (a native client: --http-client-command, docs/BENCHMARKS.md)`
      : ratio >= 1.8 && p99 === "no worse"
        ? "met"
        : "not met";
  const off = rows.find((r) => r.variant === "echoplex single, fast path off");
  const offText =
    off === undefined
      ? ""
      : ` Without the fast path: ${range(off)}, ${us(off.serverUs)} per request.`;
  const h2 = rows.find((r) => r.variant === "echoplex single, HTTP/2 (h2c)");
  const peer = rows.find((r) => r.variant === "node:http2 minimal (h2c)");
  // The bar is read with h2load (bench/peers/h2c.sh): our client is the limit on 2 cores.
  const h2Bar =
    (h2?.clientBound ?? 0) > 0 || (peer?.clientBound ?? 0) > 0
      ? "bar ≥ 1.1×: cannot tell, the load client was the limit; bench/peers/h2c.sh reads it with h2load"
      : "bar ≥ 1.1×";
  const against =
    peer === undefined || peer.runs === peer.failed || h2 === undefined
      ? ""
      : `, against node:http2 written the obvious way ${int(peer.rate.median)} requests/s at ${us(peer.serverUs)}: ${x(h2.rate.median / peer.rate.median)} by median rate, ${x(peer.serverUs / h2.serverUs)} by CPU per request (${h2Bar})`;
  const h2Text =
    h2 === undefined || h2.runs === h2.failed
      ? ""
      : ` HTTP/2 (h2c, echoplex-load's client): ${int(h2.rate.median)} requests/s, ${range(h2)}, ${us(h2.serverUs)} per request${against}.`;
  return (
    `**Verdict:** echoplex's HTTP echo served ${int(ours.rate.median)} requests/s against ${int(base.rate.median)} for ${base.variant}: ${range(ours)} per round, ${verdict}, ` +
    `with its limits checked and the content-type copied; server CPU ${us(ours.serverUs)} against ${us(base.serverUs)} per request; p99 ${int(ours.p99)} against ${int(base.p99)} µs (${p99}). ` +
    `Bar (≥ 1.8× and p99 no worse): ${met}.${offText}${h2Text}${boundNote(rows)}`
  );
}

export function workVerdict(rows: readonly Row[], section: Section): string {
  const ok = rows.filter((r) => r.runs > r.failed);
  const base = ok.find((r) => r.baseline);
  if (base === undefined || ok.length < 2) return "";
  const winner = [...ok].sort((a, b) => b.rate.median - a.rate.median)[0] as Row;
  const offload = ok.find((r) => r.mode === "single" && !r.baseline);
  const handoff = ok.find((r) => r.mode === "handoff" && !r.variant.includes("offload"));
  const both = ok.find((r) => r.mode === "handoff" && r.variant.includes("offload"));
  const work = Number(section.note?.us_per_message);
  const lines = [
    `**Verdict:** ${winner.variant} wins, ${winner.baseline ? "ahead of every other variant" : `${range(winner)} the single loop`}.`,
    `Each message costs ${us(work)} of hashing (${section.note?.rounds} SHA-256 rounds, timed on this machine). The single loop spends ${us(base.serverUs)} of CPU per message and ran at ${base.serverCores.toFixed(2)} cores, its event loop at ${cores(base.busiestLoopCores)} of a core (the rest is V8's helper threads): one loop does everything, so ${int(base.rate.median)} msg/s is what one core gives.`,
  ];
  if (offload) {
    const extra = offload.serverUs - base.serverUs;
    const cost =
      Math.abs(extra) < 0.1 * base.serverUs
        ? `about the same CPU per message as inline (${us(offload.serverUs)} against ${us(base.serverUs)})`
        : extra > 0
          ? `${us(extra)} more CPU per message than inline (${us(offload.serverUs)}): the thread hop (copy, post, wake, reply)`
          : `less CPU per message than inline (${us(offload.serverUs)}): the pool takes tasks in batches and the loop, freed of the hashing, reads more messages per wake-up`;
    lines.push(
      `Offload moves the hashing onto ${offload.variant.replace(/.*offload /, "")} pool threads (${cores(offload.workerThreadCores)} cores between them); the event loop still does all the I/O and hands every message over, and it ran at ${cores(offload.busiestLoopCores)} of a core${offload.busiestLoopCores >= 0.9 ? ": the loop, not the hashing, was the limit" : ""}. It cost ${cost}, over ${offload.serverCores.toFixed(2)} cores.`,
    );
  }
  if (handoff)
    lines.push(
      `Handoff runs whole messages, I/O and hashing alike, in ${handoff.workers} event loops at once, with no step added per message (${us(handoff.serverUs)} per message over ${handoff.serverCores.toFixed(2)} cores, the busiest loop at ${cores(handoff.busiestLoopCores)}); its cost is per connection, not per message.`,
    );
  if (both)
    lines.push(
      `Handoff + offload: ${us(both.serverUs)} per message over ${both.serverCores.toFixed(2)} cores, ${x(both.vsSingle.median)} the single loop.`,
    );
  const ranked = [...ok].sort((a, b) => b.rate.median - a.rate.median);
  const second = ranked[1] as Row;
  const arithmetic = `throughput is the cores the server got over the CPU it spends per message: ${winner.variant} got ${winner.serverCores.toFixed(2)} cores at ${us(winner.serverUs)}, ${second.variant} ${second.serverCores.toFixed(2)} at ${us(second.serverUs)}.`;
  lines.push(
    winner === handoff
      ? `Why handoff wins: ${arithmetic} More loops parallelize everything a message costs; a pool parallelizes only the hashing, and its threads compete with the loop and the client for the same cores.`
      : winner === offload
        ? `Why offload wins: ${arithmetic} The hashing dominated, and the pool put it on cores the single loop left idle, without the processes handoff adds.`
        : winner === both
          ? `Why both together win: ${arithmetic} The loops split the I/O and the pools take the hashing.`
          : "Nothing beat doing the work inline: there was no idle core to put it on (the load client uses one).",
  );
  return lines.join(" ") + boundNote(rows);
}

/**
 * Issue 12's bars for the churn-work suite: handoff against the better of the modes where the
 * kernel spreads connections, and against the single loop. Each is compared through its ratio to
 * the single loop of the same round (the rounds are interleaved): on a shared machine a round's
 * rates move together, and a ratio of plain medians would mix the rounds.
 */
export function churnWorkVerdict(rows: readonly Row[]): string {
  const ok = rows.filter((r) => r.runs > r.failed);
  const handoff = ok.find((r) => r.mode === "handoff");
  const peers = ok.filter((r) => r.mode === "reuseport" || r.mode === "cluster-shared");
  if (handoff === undefined || !ok.some((r) => r.baseline) || peers.length === 0) return "";
  const best = [...peers].sort((a, b) => b.vsSingle.median - a.vsSingle.median)[0] as Row;
  const vsBest = handoff.vsSingle.median / best.vsSingle.median;
  const vsSingle = handoff.vsSingle.median;
  const bar = (v: number, at: number) => `${x(v)} (bar ≥ ${at}×: ${v >= at ? "met" : "not met"})`;
  return (
    `**Verdict:** ${handoff.variant} ran at ${bar(vsBest, 0.95)} the better of the modes where the kernel spreads connections (${best.variant}, ${x(best.vsSingle.median)} the single loop) and ${bar(vsSingle, 1.2)} the single loop, at ${us(handoff.serverUs)} of server CPU per connection against ${us(best.serverUs)} (ratios to the same round's single loop, medians).` +
    boundNote(rows)
  );
}

/**
 * Issue 13's WebSocket bar, at 64 B: the WebSocket echo's rate ≥ 0.9× the TCP echo's, same server,
 * same client. A client-bound rate measures the client; the server's CPU per message still says
 * what the server can do: TCP's µs per message over WebSocket's is the rate ratio a run where
 * the server is the limit would show. 16 KiB is reported beside it, without a bar.
 */
export function websocketVerdict(all: readonly Row[]): string {
  const parts: string[] = [];
  for (const size of ["64 B", "16 KiB"]) {
    const rows = all.filter((r) => r.scenario === `ws vs tcp steady ${size} x50`);
    const tcp = rows.find((r) => r.baseline);
    const ws = rows.find((r) => r.variant === "WebSocket");
    if (tcp === undefined || ws === undefined || ws.runs === ws.failed) continue;
    const cpu = tcp.serverUs / ws.serverUs;
    const bound = tcp.clientBound + ws.clientBound;
    const runs = tcp.runs - tcp.failed + ws.runs - ws.failed;
    const off = rows.find((r) => r.variant === "WebSocket, fast path off");
    const offText =
      off === undefined
        ? ""
        : ` Without the fast path: ${range(off)}, ${us(off.serverUs)} per message (${x(tcp.serverUs / off.serverUs)} by CPU).`;
    const rate = ws.vsSingle.median;
    const both =
      rate >= 0.9 && cpu >= 0.9 ? "met" : rate < 0.9 && cpu < 0.9 ? "not met" : "unclear";
    const bar =
      size !== "64 B"
        ? ""
        : bound === 0
          ? ` Bar (≥ 0.9× TCP echo's msg/s): ${rate >= 0.9 ? "met" : "not met"}.`
          : ` Bar (≥ 0.9× TCP echo's msg/s): ${both}: the rates say ${x(rate)}, but the load client was the limit in ${bound} of ${runs} runs, so they measure it too; server CPU per message says ${x(cpu)}.`;
    parts.push(
      `**Verdict, ${size}:** WebSocket echoed ${int(ws.rate.median)} messages/s against ${int(tcp.rate.median)} for TCP echo, ${range(ws)} per round; server CPU ${us(ws.serverUs)} against ${us(tcp.serverUs)} per message, so where the server is the limit WebSocket would run at ${x(cpu)} TCP echo's rate.${bar}${offText}`,
    );
  }
  return parts.join("\n\n") + boundNote(all);
}

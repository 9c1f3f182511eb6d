/** summary.md: the plan, the machine, and per section one table per scenario and a verdict. */
import type { Machine } from "./machine.ts";
import { describeMachine } from "./machine.ts";
import type { Plan, Section } from "./plan.ts";
import { projectionMarkdown } from "./projection.ts";
import type { Row } from "./summary.ts";
import { churnWorkVerdict, httpVerdict, websocketVerdict, workVerdict } from "./verdict.ts";

const TITLES: Readonly<Record<string, string>> = {
  echo: "Echo: every mode against the single loop",
  http: "HTTP: echoplex against a minimal node:http echo",
  websocket: "WebSocket echo against TCP echo, in the same server",
  work: "CPU work per message: inline or offloaded, one loop or handoff",
  "churn-work": "Churn with ~100 µs of work per connection: spreading connections over cores",
};

const int = (x: number): string =>
  Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–";
const fixed = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : "–");

/** Where the server's cores went: its busiest event loop, and its pool threads if any. */
function threads(row: Row): string {
  const pool = row.workerThreadCores > 0 ? `, pool ${fixed(row.workerThreadCores, 2)}` : "";
  return ` (busiest loop ${fixed(row.busiestLoopCores, 2)}${pool})`;
}

function cells(row: Row): string[] {
  const r = row.rate;
  const v = row.vsSingle;
  return [
    row.variant,
    `${int(r.median)} (${int(r.min)}–${int(r.max)})`,
    row.baseline ? "1" : `${fixed(v.median, 2)}× (${fixed(v.min, 2)}–${fixed(v.max, 2)})`,
    `${fixed(row.p50, 0)} / ${fixed(row.p99, 0)} / ${fixed(row.p999, 0)}${row.scenario.startsWith("open") ? ` (sent: ${fixed(row.sentP50, 0)} / ${fixed(row.sentP99, 0)})` : ""}`,
    fixed(row.serverUs, 1),
    fixed(row.clientUs, 1),
    `${fixed(row.serverCores, 2)} / ${fixed(row.clientCores, 2)}${row.suite === "work" ? threads(row) : ""}`,
    row.served.length > 1
      ? `${row.served.join(" / ")} (${fixed(row.skew, 2)})`
      : String(row.served[0] ?? "–"),
    `${row.errors} / ${row.timeouts} / ${row.mismatches} / ${row.stalled}${row.failed ? `, ${row.failed} runs failed` : ""}`,
    row.clientBound > 0
      ? `**client-bound** ${row.clientBound}/${row.runs - row.failed}: ${row.boundReason}`
      : "",
  ].map((c) => c.replaceAll("|", "\\|"));
}

export function markdown(
  rows: readonly Row[],
  plan: Plan,
  m: Machine,
  command: string,
  capacity = "",
): string {
  const out = [
    "# echoplex bench",
    "",
    `- command: \`${command}\``,
    `- machine: ${describeMachine(m)}`,
    `- load client: ${plan.clientCommand ? `external, \`${plan.clientCommand}\` (no warm-up; its CPU is all it used)` : `src/load, ${plan.threads} thread(s)`}`,
    `- ${plan.rounds} rounds; ${plan.seconds} s measured after ${plan.warmupSeconds} s of warm-up per run; in each round the section's baseline runs first, then every variant in an order rotated per round`,
    "- rate: messages/s (churn: connections/s; HTTP: requests/s), median (min–max) over the rounds; vs: median of the per-round ratios to the same round's baseline (named in the column)",
    "- latency µs: medians of each run's p50 / p99 / p99.9 (open loop: from the intended send time, then p50 / p99 from the actual send); CPU: µs of server and client CPU per message (churn: per connection), and cores used over the window (in the work suite, also the busiest event loop's cores and the pool threads')",
    "- per worker: connections each worker served over all rounds (busiest ÷ even share); failures: connection errors / timeouts / mismatches / stalled connections (a message waited through the whole window), summed",
    "- **client-bound**: a client thread used ≥ 0.9 of a core, or in a closed loop the server used < 0.9 of the cores it had: the rate then measures the load client (or the machine), not the server",
    "",
  ];
  for (const section of plan.sections) {
    const mine = rows.filter((r) => r.suite === section.suite);
    if (mine.length === 0) continue;
    out.push(`## ${TITLES[section.suite] ?? section.suite}`, "");
    if (section.serverFlags.length > 0)
      out.push(`Every server in this section ran with \`${section.serverFlags.join(" ")}\`.`, "");
    for (const s of [...new Set(mine.map((r) => r.scenario))]) table(out, section, mine, s);
    const verdict =
      section.suite === "http"
        ? httpVerdict(mine)
        : section.suite === "websocket"
          ? websocketVerdict(mine)
          : section.suite === "work"
            ? workVerdict(mine, section)
            : section.suite === "churn-work"
              ? churnWorkVerdict(mine)
              : "";
    if (verdict !== "") out.push(verdict, "");
  }
  // Capacity beside the projection: what this machine took within the SLO, then past its cores.
  if (capacity !== "") out.push(capacity);
  const projection = projectionMarkdown(rows, m.cores);
  if (projection !== "") out.push(projection);
  return out.join("\n");
}

function table(out: string[], section: Section, rows: readonly Row[], s: string): void {
  const unit = s.startsWith("churn") ? "conn" : section.suite === "http" ? "req" : "msg";
  out.push(`### ${s}`, "");
  out.push(
    `| variant | ${unit}/s | vs ${section.baseline.id} | p50 / p99 / p99.9 µs | server µs/${unit} | client µs/${unit} | server / client cores | per worker | failures | |`,
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const row of rows.filter((r) => r.scenario === s)) out.push(`| ${cells(row).join(" | ")} |`);
  out.push("");
}

/**
 * One load run from parsed flags, for the bin (cli.ts) and the API (index.ts): the flags checked
 * together, the start time waited for, the run, and why it could not run as one of our errors.
 */
import type { Values } from "../args.ts";
import { EchoplexError, fail } from "../errors.ts";
import { type CapacityReport, type StepRow, searchCapacity } from "./capacity.ts";
import type { LOAD_FLAGS } from "./flags.ts";
import { runHttpLoad } from "./flows/http.ts";
import { parseSlo } from "./report/slo.ts";
import { type LoadReport, type Protocol, runLoad, type WindowHooks } from "./run.ts";

export type LoadFlags = Values<typeof LOAD_FLAGS>;

/** Wait until `at` (ISO 8601 or epoch milliseconds), so that clients on several hosts start together. */
async function startAt(at: string): Promise<void> {
  const when = /^\d+$/.test(at) ? Number(at) : Date.parse(at);
  if (Number.isNaN(when))
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: `--at ${at}`,
      problem: "expected an ISO 8601 time or epoch milliseconds",
    });
  const wait = when - Date.now();
  if (wait < 0) throw fail("ECHOPLEX_BAD_FLAG", { subject: `--at ${at}`, problem: "in the past" });
  // (A timer past 2^31 ms would fire at once.)
  if (wait > 86_400_000)
    throw fail("ECHOPLEX_BAD_FLAG", { subject: `--at ${at}`, problem: "more than a day away" });
  await new Promise((resolve) => setTimeout(resolve, wait));
}

/** TLS's own failures, by what node:tls and OpenSSL say (a client thread's error loses its code). */
const TLS_FAILURE =
  /certificate|altnames|SSL routines|TLS|ERR_SSL|self[- ]signed|UNABLE_TO_VERIFY|socket disconnected before secure/i;

/** Why no connection worked, as one of our errors; anything else as it came. */
function failure(err: unknown, at: string, protocol: Protocol): unknown {
  if (err instanceof EchoplexError) return err;
  const e = err as NodeJS.ErrnoException;
  const message = String(e?.message);
  if (TLS_FAILURE.test(message))
    return fail("ECHOPLEX_TLS_FAILED", { target: at, reason: message.split("\n")[0] ?? "" });
  // A socket error from a client thread arrives structured-cloned: message kept, code lost.
  const code = e?.code ?? /\b(E[A-Z]{3,})\b/.exec(message)?.[1];
  if (code === undefined || !/^E[A-Z]+$/.test(code)) return err;
  if (code === "EPROTO" && protocol === "ws")
    return fail("ECHOPLEX_CONNECT_FAILED", {
      target: `${at}/ws`,
      why: "the WebSocket upgrade was not answered with 101 (is that echoplex's --http port?)",
    });
  return fail("ECHOPLEX_CONNECT_FAILED", {
    target: at,
    why: `no connection succeeded (${code}); is the server running there?`,
  });
}

/** The protocol asked for, once the flags are known to go together. */
export function checked(f: LoadFlags): Protocol {
  const open = f.rate.from > 0;
  if (f.pipeline > 1 && (open || f.churn))
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: `--pipeline ${open ? "--rate" : "--churn"}`,
      problem:
        "each chooses the workload; give one (--churn --rate R opens R connections a second)",
    });
  if (f.http && f.protocol !== "tcp" && f.protocol !== "http")
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: `--http --protocol ${f.protocol}`,
      problem: "--http means --protocol http; give one of them",
    });
  const protocol = (f.http ? "http" : f.protocol) as Protocol;
  const ramp = f.rate.to !== f.rate.from || f.rate.steps > 0;
  if (protocol === "http" && (ramp || f.interval > 0))
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: `--protocol http ${ramp ? "--rate A..B" : "--interval"}`,
      problem:
        "autocannon runs HTTP/1.1 at one rate and reports once; use --protocol http2, or drop it",
    });
  if (f.insecure && !f.tls)
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: "--insecure",
      problem: "for TLS; add --tls, or drop it",
    });
  if (protocol === "http" && f.tls && !f.insecure)
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: "--protocol http --tls",
      problem:
        "goes through autocannon, which never checks the server's certificate; add --insecure to say so",
    });
  return protocol;
}

export async function measure(f: LoadFlags, hooks?: WindowHooks): Promise<LoadReport> {
  const protocol = checked(f);
  const options = {
    host: f.host,
    port: f.port,
    protocol,
    connections: f.connections,
    size: f.size,
    seconds: f.duration,
    warmupSeconds: f.warmup,
    pipeline: f.pipeline,
    rate: f.rate.from,
    rateEnd: f.rate.to,
    rateSteps: f.rate.steps,
    intervalSeconds: f.interval,
    churn: f.churn,
    threads: f.threads,
    timeoutMs: f.timeout * 1000,
    tls: f.tls,
    insecure: f.insecure,
  };
  if (f.at !== "") await startAt(f.at);
  try {
    return protocol === "http" ? await runHttpLoad(options) : await runLoad(options, hooks);
  } catch (err) {
    throw failure(err, `${f.host}:${f.port}`, protocol);
  }
}

/** A run in which every connection closed before its first echo measured nothing: why, likely. */
export function nothingEchoed(report: LoadReport, f: LoadFlags): EchoplexError | null {
  if (report.messages > 0 || report.timeouts > 0 || report.errors === 0) return null;
  return fail("ECHOPLEX_CONNECT_FAILED", {
    target: `${f.host}:${f.port}`,
    why: `every connection was closed before its first echo (${report.errors} times); ${f.tls ? "does that port speak TLS?" : "is it a TLS port (add --tls), or not an echo server?"}`,
  });
}

/** --slo: the capacity search (capacity.ts) with a run of these flags at each step's rate. */
export async function measureCapacity(
  f: LoadFlags,
  onStep: (s: StepRow) => void,
): Promise<CapacityReport> {
  const slo = parseSlo(f.slo);
  if (typeof slo === "string") throw fail("ECHOPLEX_BAD_FLAG", { subject: "--slo", problem: slo });
  if (f.pipeline > 1 || f.interval > 0)
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: `--slo ${f.pipeline > 1 ? "--pipeline" : "--interval"}`,
      problem: "the search runs the open loop at rates of its own, one report per step; drop it",
    });
  const ramp = f.rate.to !== f.rate.from;
  const options = {
    start: f.rate.from > 0 ? f.rate.from : 1000,
    max: ramp ? f.rate.to : 10_000_000,
    precision: 0.1,
    maxSteps: 20,
    // Twice a step's length after a miss: what the target queued drains before the next step.
    settle: () => new Promise<void>((r) => setTimeout(r, 2000 * (f.warmup + f.duration))),
  };
  let at = f.at;
  const run = (rate: number) => {
    const step = { ...f, rate: { from: rate, to: rate, steps: 0 }, at };
    at = ""; // only the first step waits for --at
    return measure(step);
  };
  return searchCapacity(slo, run, options, onStep);
}

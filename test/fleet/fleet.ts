/**
 * The fleet test's deployment: hosts running echoplex, HAProxy, load clients, each in a network
 * namespace of its own (net.ts), and what the test does to them: start, redeploy (SIGTERM ->
 * drained -> started again -> up in HAProxy), load through HAProxy from every client at once.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expandedArgs, jobContainer } from "../helpers/k8s-job.ts";
import { waitFor } from "../helpers/server.ts";
import { ADMIN_PORT, type Backend, ECHO_PORT, HTTP_PORT, stats } from "./haproxy.ts";
import { type Link, Net } from "./net.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SERVER = join(ROOT, "src/main/cli.ts");
const LOAD = join(ROOT, "src/load/cli.ts");

export interface Host {
  readonly name: string;
  readonly ns: string;
  readonly link: Link;
  proc: ChildProcess | null;
}

interface Client {
  readonly name: string;
  readonly ns: string;
  readonly link: Link;
}

/** What a merged report says (echoplex-load merge --json), as the test reads it. */
export interface Merged {
  readonly clients: number;
  readonly messages: number;
  readonly msgs_per_s: number;
  readonly p50_us: number;
  readonly p99_us: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly mismatches: number;
}
export type LoadRun = Record<"tcp" | "http", Merged>;

export interface Load {
  /** Resolves as the clients start (the shared --at time). */
  readonly started: Promise<void>;
  /** performance.now() by which the measured window has surely not ended. */
  readonly endsAt: number;
  readonly done: Promise<LoadRun>;
}

/** Everything a process printed, and how it ended. */
function finished(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, out, err })));
}

export class Fleet {
  readonly hosts: Host[] = [];
  readonly clients: Client[] = [];
  readonly socket: string;
  readonly #net = new Net();
  readonly #dir: string;
  readonly #concurrency: number;

  constructor(dir: string, concurrency: number) {
    this.#dir = dir;
    this.#concurrency = concurrency;
    this.socket = join(dir, "haproxy.sock");
  }

  async up(
    hosts: readonly string[],
    clients: readonly string[],
    config: (bind: string, backends: readonly Backend[], socket: string) => string,
  ): Promise<void> {
    const lb = this.#net.ns("lb");
    for (const name of hosts) {
      const ns = this.#net.ns(name);
      this.hosts.push({ name, ns, link: this.#net.link(lb, ns), proc: null });
    }
    for (const name of clients) {
      const ns = this.#net.ns(name);
      this.clients.push({ name, ns, link: this.#net.link(lb, ns) });
    }
    await Promise.all(this.hosts.map((h) => this.start(h)));
    const file = join(this.#dir, "haproxy.cfg");
    writeFileSync(file, config("0.0.0.0", this.hosts, this.socket));
    const haproxy = this.#net.spawn(lb, "haproxy", ["-f", file, "-db"]);
    const exited = finished(haproxy);
    await Promise.race([
      this.until(async () => (await stats(this.socket)).every((s) => s.status === "UP"), 15_000),
      exited.then((r) => Promise.reject(new Error(`haproxy exited ${r.code}: ${r.err}`))),
    ]);
  }

  /** echoplex on `host`: handoff, 2 workers, admin on the host's second address. */
  async start(host: Host): Promise<void> {
    const { address, admin } = host.link;
    const proc = this.#net.spawn(host.ns, process.execPath, [
      SERVER,
      ...["--mode", "handoff", "--workers", "2", "--host", address],
      ...["--port", String(ECHO_PORT), "--http", String(HTTP_PORT)],
      ...["--admin", String(ADMIN_PORT), "--admin-host", admin, "--drain-timeout", "10"],
      // HAProxy checks every 200 ms and takes a server out after 2 failures: 1 s covers that.
      ...["--drain-delay", "1"],
    ]);
    host.proc = proc;
    const ended = finished(proc);
    await new Promise<void>((resolve, reject) => {
      let seen = "";
      proc.stdout?.on("data", (d: string) => {
        seen += d;
        if (seen.includes('"msg":"listening"')) resolve();
      });
      void ended.then((r) => reject(new Error(`${host.name} exited ${r.code}: ${r.err}`)));
    });
  }

  /** SIGTERM, wait for the drain to end the process, start again, wait until HAProxy has it up. */
  async redeploy(host: Host): Promise<number> {
    const began = performance.now();
    const proc = host.proc as ChildProcess;
    const ended = finished(proc);
    proc.kill("SIGTERM");
    const { code, err } = await ended;
    if (code !== 0) throw new Error(`${host.name} exited ${code} on SIGTERM: ${err}`);
    await this.start(host);
    await this.until(async () => (await this.status(host)).every((s) => s === "UP"), 15_000);
    return Math.round(performance.now() - began);
  }

  /** Every process of the host SIGKILLed at once (its primary and its workers). */
  crash(host: Host): void {
    this.#net.crash(host.ns);
  }

  /** The host's status in each HAProxy backend (UP, DOWN, ...). */
  async status(host: Host): Promise<string[]> {
    return (await stats(this.socket)).filter((s) => s.server === host.name).map((s) => s.status);
  }

  /** Every client loads through HAProxy for `seconds` from a shared start: TCP churn and HTTP. */
  load(tag: string, seconds: number): Load {
    const at = Date.now() + 2500;
    const endsAt = performance.now() + 2500 + seconds * 1000;
    const common = ["--duration", String(seconds), "--warmup", "0", "--at", String(at)];
    const runs = { tcp: [] as string[], http: [] as string[] };
    const procs: Promise<void>[] = [];
    for (const c of this.clients) {
      for (const kind of ["tcp", "http"] as const) {
        const file = join(this.#dir, `${tag}-${kind}-${c.name}.json`);
        runs[kind].push(file);
        const args = [
          LOAD,
          ...["--host", c.link.gateway, ...common, "--save", file, "--json", "--timeout", "5"],
          ...["--connections", String(this.#concurrency), "--threads", "1"],
          ...(kind === "tcp"
            ? ["--port", String(ECHO_PORT), "--churn"]
            : ["--port", String(HTTP_PORT), "--protocol", "http"]),
        ];
        procs.push(
          finished(this.#net.spawn(c.ns, process.execPath, args)).then((r) => {
            // Exit 1 with a report (a mismatch) is the test's to judge; no report is a failure.
            if (r.code !== 0 && r.code !== 1) throw new Error(`load ${kind} ${c.name}: ${r.err}`);
          }),
        );
      }
    }
    const done = Promise.all(procs).then(async () => ({
      tcp: await this.#merge(runs.tcp),
      http: await this.#merge(runs.http),
    }));
    done.catch(() => {}); // observed by the test; this keeps an early failure from going unhandled
    return { started: new Promise((r) => setTimeout(r, at - Date.now())), endsAt, done };
  }

  /**
   * deploy/kubernetes/load-job.yaml's command in every client namespace at once (its index each),
   * saving into one shared directory, then load-merge-job.yaml's over that directory: what the
   * cluster would run, with only what the cluster gives put in — the time (LOAD_AT), each pod's
   * index, the window's length (LOAD_SECONDS, the manifest's knob), the Service's address (here
   * HAProxy's), the volume's path and the image's node and entry point (here the sources').
   * `slo` replaces the merge's own, to see the gate fail too.
   */
  async kubernetesJob(seconds: number, slo?: string) {
    const results = join(this.#dir, `k8s-${Date.now()}`);
    mkdirSync(results);
    const at = String(Date.now() + 2500);
    // The Service's name is the address HAProxy has in the client's namespace.
    const local = (args: readonly string[], host = "") =>
      args.map((a) =>
        a
          .replace(/(^|=)\/results(?=\/|$)/, `$1${results}`)
          .replace(/^--host=echoplex$/, `--host=${host}`),
      );
    const load = jobContainer("load-job.yaml");
    const runs = this.clients.map((c, i) => {
      const values = {
        LOAD_AT: at,
        LOAD_SECONDS: String(seconds),
        JOB_COMPLETION_INDEX: String(i),
      };
      const args = local(expandedArgs(load, values), c.link.gateway);
      return finished(this.#net.spawn(c.ns, process.execPath, [LOAD, ...args]));
    });
    const loads = await Promise.all(runs);
    const merge = local(jobContainer("load-merge-job.yaml").args ?? []).map((a) =>
      slo !== undefined && a.startsWith("--slo=") ? `--slo=${slo}` : a,
    );
    const merged = await finished(spawn(process.execPath, [LOAD, ...merge, "--json"]));
    return { loads, merged, files: readdirSync(results).sort() };
  }

  async #merge(files: readonly string[]): Promise<Merged> {
    const r = await finished(spawn(process.execPath, [LOAD, "merge", ...files, "--json"]));
    if (r.code !== 0) throw new Error(`merge: ${r.err}`);
    for (const f of files) readFileSync(f); // each client saved its report
    return JSON.parse(r.out.trim().split("\n").at(-1) as string) as Merged;
  }

  /** Poll `done` until it holds (HAProxy's socket may not be there yet: that is "not yet"). */
  until(done: () => Promise<boolean>, ms: number, what = "HAProxy to agree"): Promise<true> {
    return waitFor(what, async () => ((await done().catch(() => false)) ? true : undefined), ms);
  }

  async down(): Promise<void> {
    await this.#net.close();
  }
}

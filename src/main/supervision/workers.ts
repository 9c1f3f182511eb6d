import { type ChildProcess, fork } from "node:child_process";
import type { Ports, ServeOptions, WorkerOptions, WorkerRole } from "../../messages.ts";
import type { Config } from "../config/config.ts";
import { tlsFiles } from "../config/config.ts";
import type { Supervised, Supervisor } from "./supervisor.ts";
import { WORKER_PROCESS_ENTRY } from "./worker-entry.ts";

/** How often workers report their open-connection count (least-connections reads it). */
export const LOAD_INTERVAL_MS = 100;

/** The ports asked for in the config (0 picks a free one; null is off). */
export function configPorts(config: Config): Ports {
  return { echo: config.port, http: config.http, udp: config.udp };
}

/**
 * The ports later workers bind: those the first worker got where 0 was asked for (every
 * SO_REUSEPORT listener must bind the same port).
 */
export function boundPorts(asked: Ports, first: Ports): Ports {
  return {
    echo: asked.echo === 0 ? first.echo : asked.echo,
    http: asked.http === 0 ? first.http : asked.http,
    udp: asked.udp === 0 ? first.udp : asked.udp,
  };
}

/** What every echo loop serves, from the config: the same for the single loop and workers. */
export function serveOptions(config: Config): ServeOptions {
  return {
    backlog: config.backlog,
    // Each loop enforces its share of the server-wide cap: connections are spread evenly.
    maxConnections:
      config.maxConnections === 0 ? 0 : Math.ceil(config.maxConnections / config.workers),
    idleTimeoutMs: Math.round(config.idleTimeout * 1000),
    tls: tlsFiles(config),
    maxBody: config.maxBody,
    httpBuffer: Math.ceil(config.httpBuffer / config.workers),
    handshakeTimeoutMs: Math.round(config.handshakeTimeout * 1000),
    maxMessage: config.maxMessage,
    headerTimeoutMs: Math.round(config.headerTimeout * 1000),
    requestTimeoutMs: Math.round(config.requestTimeout * 1000),
    wsCompression: config.wsCompression,
    httpFastPath: config.httpFastPath,
    http2: config.http2,
    responseControl: config.responseControl,
    maxDelayMs: Math.round(config.maxDelay * 1000),
    maxStreaming: Math.ceil(config.maxStreaming / config.workers),
    unsafeResponses: config.unsafeResponses,
    faults: config.faults,
    accessLog: config.accessLog,
    accessLogIgnore: config.accessLogIgnore,
    tcpFaults: config.tcpFaults,
    udpFaults: config.udpFaults,
    wsFaults: config.wsFaults,
    faultSeed: config.faultSeed,
    cors: config.cors,
    httpbin: config.httpbin,
    proxyProtocol: config.proxyProtocol,
    proxyTrusted: config.proxyTrusted,
    udpRate: config.udpRate,
    udpTrusted: config.udpTrusted,
    work: config.work,
    offload: config.offload,
  };
}

export function workerOptions(
  config: Config,
  id: number,
  role: WorkerRole,
  ports: Ports = configPorts(config),
): WorkerOptions {
  return {
    id,
    role,
    host: config.host,
    ports,
    serve: serveOptions(config),
    logLevel: config.logLevel,
    loadIntervalMs: LOAD_INTERVAL_MS,
    drainMs: Math.round(config.drainTimeout * 1000),
  };
}

/** A worker process's stdio: stdout and stderr are the primary's, and an IPC channel. */
export const WORKER_STDIO: ["ignore", "inherit", "inherit", "ipc"] = [
  "ignore",
  "inherit",
  "inherit",
  "ipc",
];

/**
 * V8 flags of every worker process, before the primary's own (which win where they repeat). A
 * 2 MiB semi-space keeps a worker's young generation small: under 10 s of churn a worker held
 * 104-132 MB with Node's default and 78-80 MB with this, at the same throughput (steady echo
 * 63k vs 62k msg/s, medians of 3). A 4 MiB initial old space makes V8 collect it sooner: a
 * socket's objects that outlive two scavenges filled 22 MB before each full GC found 5.4 MB
 * alive. Under 10 s of native RST churn a worker held 90-94 MB without it, 79-83 MB with it, at
 * the same CPU per connection and per HTTP request (docs/BENCHMARKS.md, "Worker memory").
 */
export const WORKER_EXEC_ARGV: readonly string[] = [
  "--max-semi-space-size=2",
  "--initial-old-space-size=4",
];

/**
 * Flags that say what a process runs rather than how Node runs it: the caller's, never a
 * worker's (forked with the parent's execArgv, a worker of a `node -e` host ran its eval). Those
 * that take the next argument as their value are in TAKES_VALUE.
 */
const OWN_FLAGS =
  /^(-e|--eval|-p|--print|-c|--check|-i|--interactive|--input-type|--test|--test-.*|--watch|--watch-.*|--run|--experimental-test-.*|--experimental-default-type|--entry-url)(=.*)?$/;
const TAKES_VALUE = new Set(["-e", "--eval", "-p", "--print", "--watch-path", "--run"]);

/**
 * A worker's flags: ours (WORKER_EXEC_ARGV), then the parent's that shape how Node runs (memory,
 * inspector, loaders, --expose-gc...), without those that say what the parent runs. A
 * `--name=value` flag is given once: the parent's, where it has one (npm start sets ours too).
 */
export function workerExecArgv(parent: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const arg = parent[i] as string;
    if (OWN_FLAGS.test(arg)) {
      if (TAKES_VALUE.has(arg)) i++;
      continue;
    }
    kept.push(arg);
  }
  const name = (arg: string) => arg.slice(0, arg.indexOf("="));
  const set = new Set(kept.filter((a) => a.startsWith("--") && a.includes("=")).map(name));
  return [...WORKER_EXEC_ARGV.filter((a) => !set.has(name(a))), ...kept];
}

/** A worker process (handoff, reuseport); node:cluster forks its own (cluster.ts). */
export function forkWorker(options: WorkerOptions): ChildProcess {
  return fork(WORKER_PROCESS_ENTRY, [JSON.stringify(options)], {
    stdio: WORKER_STDIO,
    execArgv: workerExecArgv(),
  });
}

/** The supervisor's hooks every mode shares: a crash loop is fatal, and the start timeout. */
export function supervisorOptions(config: Config, fatal: (err: Error) => void) {
  return { crashLoop: fatal, startTimeoutMs: Math.round(config.startTimeout * 1000) };
}

/**
 * Start `count` workers one after another. The first one's ports go to `passOn` before the
 * others start (later workers bind the ports it got where 0 was asked for); resolves with them.
 * If any fails, every worker is stopped (after `cleanup`) and the error rethrown.
 */
export async function startWorkers<C extends Supervised>(
  supervisor: Supervisor<C>,
  count: number,
  passOn: (first: Ports) => void,
  cleanup: () => Promise<void> = () => Promise.resolve(),
): Promise<Ports> {
  try {
    const first = (await supervisor.add(0)).ports;
    passOn(first);
    for (let id = 1; id < count; id++) await supervisor.add(id);
    return first;
  } catch (err) {
    await cleanup();
    await supervisor.stop(0);
    throw err;
  }
}

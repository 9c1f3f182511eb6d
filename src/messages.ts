/**
 * The only contract between the primary (src/main) and its workers (src/worker).
 * Messages travel over the child_process IPC channel (or a worker thread's port); a message whose
 * type is listed with "+ handle" carries a socket handle as the second argument of send().
 */
import type { ErrorCode } from "./errors.ts";
import type { LogLevel } from "./log.ts";
import type { WorkerStats } from "./stats.ts";
import type { TlsFiles } from "./tls.ts";

export type {
  AccessLogCounts,
  ErrorCounts,
  FastPathCounts,
  FaultCounts,
  FaultKindCounts,
  LimitCounts,
  MessageCounts,
  UdpCounts,
  WorkerStats,
} from "./stats.ts";

/** How a worker gets its connections. */
export type WorkerRole =
  /** handoff: the primary accepts and sends each connection's handle. */
  | "handoff"
  /** listens itself: node:cluster (the primary intercepts listen) or a reusePort listener. */
  | "listen"
  | "reuseport";

/** CPU work done per message before it is echoed (see src/worker/work/work.ts). */
export interface WorkSpec {
  readonly algorithm: "sha256";
  readonly rounds: number;
}

/** The connection-oriented services; a handed-off connection says which one it is for. */
export type Service = "echo" | "http";

/** Bound ports: `echo` is the TCP echo port; `http` and `udp` are null when off. */
export interface Ports {
  readonly echo: number;
  readonly http: number | null;
  readonly udp: number | null;
}

/** What every echo loop serves and how: the same in the single loop and in every worker. */
export interface ServeOptions {
  /** Listen backlog of the TCP listeners the loop binds. */
  readonly backlog: number;
  /** Most connections this loop holds open at once (its share of --max-connections); 0: no cap. */
  readonly maxConnections: number;
  /** A connection silent this long is closed, in ms; 0: never. */
  readonly idleTimeoutMs: number;
  /** PEM file paths (the worker reads them; keys never travel in argv or messages), or null. */
  readonly tls: TlsFiles | null;
  /** HTTP request bodies over this many bytes get 413. */
  readonly maxBody: number;
  /** Bytes of gathered HTTP bodies and unsent answers this loop holds at most (then 503). */
  readonly httpBuffer: number;
  /** A TLS handshake not done in this many ms is cut off. */
  readonly handshakeTimeoutMs: number;
  /** WebSocket messages over this many bytes close the connection with 1009. */
  readonly maxMessage: number;
  /** A request whose headers take longer than this gets 408 and is closed (slowloris), in ms. */
  readonly headerTimeoutMs: number;
  /** A request whose head and body take longer than this gets 408 (HTTP/2: a reset), in ms; 0: never. */
  readonly requestTimeoutMs: number;
  readonly wsCompression: boolean;
  /** Answer the common HTTP echo request from the loop itself (worker/http/fast.ts); else node:http. */
  readonly httpFastPath: boolean;
  /** HTTP/2 with prior knowledge beside HTTP/1.1 on the HTTP port (worker/http/http2.ts). */
  readonly http2: boolean;
  /** Requests may shape their answers (control.ts). */
  readonly responseControl: boolean;
  /** The longest an answer may be delayed or streamed for (echo_delay, echo_chunks, /sse). */
  readonly maxDelayMs: number;
  /** Answers being delayed or streamed at once in this loop (then 503). */
  readonly maxStreaming: number;
  /** A request may set headers a browser acts on (header-rules.ts). */
  readonly unsafeResponses: boolean;
  /** --faults, checked at start (fault-spec.ts): what every HTTP answer may get; null: none. */
  readonly faults: string | null;
  /** --access-log: "on" (stdout) or a file; null: off (worker/loop/access-log.ts). */
  readonly accessLog: string | null;
  readonly accessLogIgnore: string | null;
  /** --tcp-faults, --udp-faults, --ws-faults, checked at start (fault-plans.ts); null: none. */
  readonly tcpFaults: string | null;
  readonly udpFaults: string | null;
  readonly wsFaults: string | null;
  /** --fault-seed: each loop's dice seeded from it and the worker id; null: unseeded. */
  readonly faultSeed: number | null;
  /** CORS preflights answered, CORS headers on every answer (cors.ts). */
  readonly cors: boolean;
  /** httpbin's endpoints answer their paths (worker/httpbin/). */
  readonly httpbin: boolean;
  /** Every TCP echo and HTTP connection starts with a PROXY protocol header (gate.ts). */
  readonly proxyProtocol: boolean;
  /** Whose PROXY headers are believed (CIDRs, loopback, private; src/proxy-trust.ts). */
  readonly proxyTrusted: string;
  /** UDP datagrams per second per source address (token bucket); 0 means no limit. */
  readonly udpRate: number;
  /** Sources udpRate does not limit (CIDRs, loopback, private, or "none"; src/proxy-trust.ts). */
  readonly udpTrusted: string;
  readonly work: WorkSpec | null;
  /** Threads of the piscina pool that does the work, per worker; 0 does it on the event loop. */
  readonly offload: number;
}

/** What a worker is started with (argv[2] as JSON for processes, workerData for threads). */
export interface WorkerOptions {
  readonly id: number;
  readonly role: WorkerRole;
  readonly host: string;
  /** Ports to bind (0: a free one). A handoff worker binds only udp; the primary owns the rest. */
  readonly ports: Ports;
  readonly serve: ServeOptions;
  readonly logLevel: LogLevel;
  /** How often the worker reports its open-connection count, in ms. */
  readonly loadIntervalMs: number;
  /** How long to drain when the worker is told to stop by a signal or loses the primary, in ms. */
  readonly drainMs: number;
}

// ---- primary -> worker ----

/** + handle: an accepted client connection (a raw TCP handle) for service `s`. */
export interface ConnMessage {
  readonly t: "conn";
  readonly s: Service;
}
/**
 * + handle: a duplicate of service `s`'s listening socket. Accept from it directly in windows of
 * `ms` milliseconds: after a window with at least `rush` connections, go on (and send a
 * SpillingMessage, which says the grant is alive); after a quieter one, or once the worker holds
 * `maxOpen` open connections, close it and answer with a SpilledMessage.
 */
export interface AcceptMessage {
  readonly t: "accept";
  readonly s: Service;
  readonly maxOpen: number;
  readonly ms: number;
  readonly rush: number;
}
/** + handle: send this handle straight back (the primary keeps an idle copy of listener `s`). */
export interface DupMessage {
  readonly t: "dup";
  readonly s: Service;
}
/** Stop taking connections, let open ones finish for `ms`, then close them and exit. */
export interface DrainMessage {
  readonly t: "drain";
  readonly ms: number;
}
/** New --faults for every HTTP answer (POST /faults on the admin port); "off" for none. */
export interface FaultsMessage {
  readonly t: "faults";
  readonly faults: string;
}
export type ToWorker = ConnMessage | AcceptMessage | DupMessage | DrainMessage | FaultsMessage;

// ---- worker -> primary ----

export interface ReadyMessage {
  readonly t: "ready";
  /** The ports the worker bound; 0 (or null when off) for one it did not bind. */
  readonly ports: Ports;
}
/** Sent every loadIntervalMs while something changed: least-connections reads it. */
export interface LoadMessage {
  readonly t: "load";
  /** Connections open now. */
  readonly open: number;
  /** Connection handles received from the primary so far (to reconcile in-flight handoffs). */
  readonly received: number;
}
/** Every STATS_INTERVAL_MS (src/worker/process/run.ts), for the primary's /metrics. */
export interface StatsMessage {
  readonly t: "stats";
  readonly stats: WorkerStats;
}
/** A spill grant of listener `s` goes on: its last window took `accepted` (>= the grant's rush). */
export interface SpillingMessage {
  readonly t: "spilling";
  readonly s: Service;
  readonly accepted: number;
  readonly open: number;
  readonly received: number;
}
/** A spill grant of listener `s` is over; the worker closed its copy. */
export interface SpilledMessage {
  readonly t: "spilled";
  readonly s: Service;
  /** Connections accepted directly in the grant's last window. */
  readonly accepted: number;
  /**
   * It reached maxOpen, not a quiet window; a LoadMessage follows once a quarter of its room is
   * free again (lent-listener.ts).
   */
  readonly full: boolean;
  readonly open: number;
  readonly received: number;
}
/** + handle: the listening handle the primary asked for with a DupMessage. */
export interface DupReplyMessage {
  readonly t: "dup";
  readonly s: Service;
}
/** The worker is draining (told to, or sent SIGTERM): hand it nothing more. */
export interface DrainingMessage {
  readonly t: "draining";
}
/** The worker could not start (its listen failed); it exits after sending this. */
export interface FailedMessage {
  readonly t: "failed";
  readonly code: ErrorCode;
  readonly message: string;
}
export type FromWorker =
  | ReadyMessage
  | LoadMessage
  | StatsMessage
  | SpillingMessage
  | SpilledMessage
  | DupReplyMessage
  | DrainingMessage
  | FailedMessage;

/** What a field must hold: a JS type, or one of the services. */
type Kind = "number" | "string" | "boolean" | "object" | "service";
/** For each message type, every field but `t` and its kind (the compiler checks it lists all). */
type Shapes<M extends { t: string }> = {
  readonly [T in M["t"]]: { readonly [K in Exclude<keyof Extract<M, { t: T }>, "t">]-?: Kind };
};

const TO_WORKER: Shapes<ToWorker> = {
  conn: { s: "service" },
  accept: { s: "service", maxOpen: "number", ms: "number", rush: "number" },
  dup: { s: "service" },
  drain: { ms: "number" },
  faults: { faults: "string" },
};
const FROM_WORKER: Shapes<FromWorker> = {
  ready: { ports: "object" },
  load: { open: "number", received: "number" },
  stats: { stats: "object" },
  spilling: { s: "service", accepted: "number", open: "number", received: "number" },
  spilled: {
    s: "service",
    accepted: "number",
    full: "boolean",
    open: "number",
    received: "number",
  },
  dup: { s: "service" },
  draining: {},
  failed: { code: "string", message: "string" },
};

function holds(value: unknown, kind: Kind): boolean {
  if (kind === "service") return value === "echo" || value === "http";
  return typeof value === kind && value !== null;
}

/** Has `value` the type tag and every field of one of `shapes`' messages? */
function fits(value: unknown, shapes: Readonly<Record<string, Readonly<Record<string, Kind>>>>) {
  if (typeof value !== "object" || value === null) return false;
  const message = value as Record<string, unknown>;
  const t = message.t;
  if (typeof t !== "string" || !Object.hasOwn(shapes, t)) return false;
  const shape = shapes[t] as Readonly<Record<string, Kind>>;
  for (const key in shape) if (!holds(message[key], shape[key] as Kind)) return false;
  return true;
}

/**
 * IPC also carries node:cluster's own messages, and a worker thread's port whatever is posted to
 * it; these guards keep only ours, and only whole: a message with a missing or mistyped field is
 * dropped rather than half-read.
 */
export function isToWorker(value: unknown): value is ToWorker {
  return fits(value, TO_WORKER);
}
export function isFromWorker(value: unknown): value is FromWorker {
  return fits(value, FROM_WORKER);
}

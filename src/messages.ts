/**
 * The only contract between the primary (src/main) and its workers (src/worker).
 * Messages travel over the child_process IPC channel (or a worker thread's port); a message whose
 * type is listed with "+ handle" carries a socket handle as the second argument of send().
 */
import type { LogLevel } from "./log.ts";

/** How a worker gets its connections. */
export type WorkerRole =
  /** handoff: the primary accepts and sends each connection's handle. */
  | "handoff"
  /** listens itself: node:cluster (the primary intercepts listen) or a reusePort listener. */
  | "listen"
  | "reuseport";

/** What a worker is started with (argv[2] as JSON for processes, workerData for threads). */
export interface WorkerOptions {
  readonly id: number;
  readonly role: WorkerRole;
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  /** How often the worker reports its open-connection count, in ms. */
  readonly loadIntervalMs: number;
  /** How long to drain when the worker is told to stop by a signal or loses the primary, in ms. */
  readonly drainMs: number;
}

// ---- primary -> worker ----

/** + handle: an accepted client connection (a raw TCP handle). */
export interface ConnMessage {
  readonly t: "conn";
}
/**
 * + handle: a duplicate of the listening socket. Accept from it directly for `ms` milliseconds,
 * or until the worker holds `maxOpen` open connections, then close it and answer with a
 * SpilledMessage.
 */
export interface AcceptMessage {
  readonly t: "accept";
  readonly maxOpen: number;
  readonly ms: number;
}
/** + handle: send this handle straight back (the primary keeps an idle copy of its listener). */
export interface DupMessage {
  readonly t: "dup";
}
/** Stop taking connections, let open ones finish for `ms`, then close them and exit. */
export interface DrainMessage {
  readonly t: "drain";
  readonly ms: number;
}
export type ToWorker = ConnMessage | AcceptMessage | DupMessage | DrainMessage;

// ---- worker -> primary ----

export interface ReadyMessage {
  readonly t: "ready";
  readonly id: number;
  /** The port the worker listens on (roles that listen themselves), else 0. */
  readonly port: number;
}
/** Sent every loadIntervalMs while something changed: least-connections reads it. */
export interface LoadMessage {
  readonly t: "load";
  /** Connections open now. */
  readonly open: number;
  /** Connection handles received from the primary so far (to reconcile in-flight handoffs). */
  readonly received: number;
}
export interface SpilledMessage {
  readonly t: "spilled";
  /** Connections accepted directly in this spill grant. */
  readonly accepted: number;
  /** The grant ended because the worker reached maxOpen (not because its time ran out). */
  readonly full: boolean;
  readonly open: number;
  readonly received: number;
}
/** + handle: the listening handle the primary asked for with a DupMessage. */
export interface DupReplyMessage {
  readonly t: "dup";
}
/** The worker is draining (told to, or sent SIGTERM): hand it nothing more. */
export interface DrainingMessage {
  readonly t: "draining";
}
/** The worker could not start (its listen failed); it exits after sending this. */
export interface FailedMessage {
  readonly t: "failed";
  readonly code: string;
  readonly message: string;
}
export type FromWorker =
  | ReadyMessage
  | LoadMessage
  | SpilledMessage
  | DupReplyMessage
  | DrainingMessage
  | FailedMessage;

function hasType(value: unknown): value is { t: unknown } {
  return typeof value === "object" && value !== null && "t" in value;
}

const TO_WORKER: ReadonlySet<unknown> = new Set(["conn", "accept", "dup", "drain"]);
const FROM_WORKER: ReadonlySet<unknown> = new Set([
  "ready",
  "load",
  "spilled",
  "dup",
  "draining",
  "failed",
]);

/** IPC also carries node:cluster's own messages; these guards keep only ours. */
export function isToWorker(value: unknown): value is ToWorker {
  return hasType(value) && TO_WORKER.has(value.t);
}
export function isFromWorker(value: unknown): value is FromWorker {
  return hasType(value) && FROM_WORKER.has(value.t);
}

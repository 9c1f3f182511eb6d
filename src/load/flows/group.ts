/**
 * One client thread's share of the load: its connections, the shared start, the measured
 * window, and the timers (timeouts; the open loop's send tick). Runs as a piscina task
 * (task.ts) and, for tests, in-process.
 */
import { connect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { Slicer } from "../report/intervals.ts";
import { Meter } from "../report/meter.ts";
import type { GroupResult, GroupTask } from "../types.ts";
import { Churner } from "./churn.ts";
import { H2Flow } from "./h2-flow.ts";
import { Pattern } from "./pattern.ts";
import { Stream } from "./stream.ts";
import { UdpFlow } from "./udp-flow.ts";
import { upgradeRequest } from "./websocket.ts";

/** One connection's traffic: a TCP or WebSocket stream (stream.ts) or a UDP flow (udp-flow.ts). */
export interface Flow {
  open(waitMs?: number): Promise<void>;
  kick(now: number): void;
  sendAt(at: number, now: number): void;
  checkTimeout(now: number): void;
  stalledSince(from: number): boolean;
  close(): void;
}

export class Group {
  readonly task: GroupTask;
  readonly pattern: Pattern;
  /** WebSocket: the upgrade request each connection sends first; null over TCP. */
  readonly upgrade: Buffer | null;
  readonly meter = new Meter();
  /** One read buffer for every connection of the thread: each read is consumed before the next. */
  readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  /** Set at the shared start: until then a connection sends only its first message(s). */
  running = false;
  stopped = false;
  firstError: Error | undefined;
  /**
   * Open loop. With one rate for all, the connections' intended times interleave in a fixed
   * order (connection i is offset by i steps), so the next message due is always the next
   * connection in turn: one cursor and one time, no per-connection timers or heap.
   */
  readonly streams: Flow[] = [];
  /** open-churn: the churners with no connection open, ready for the next arrival. */
  readonly free: Churner[] = [];
  private readonly step: number;
  private cursor = 0;
  private nextAt = Number.POSITIVE_INFINITY;
  /** --rate A..B: the ramp runs over the measured window [rampFrom, rampFrom + rampMs). */
  private rampFrom = 0;
  private rampMs = 0;

  constructor(task: GroupTask) {
    this.task = task;
    this.pattern = new Pattern(task.size, task.protocol);
    this.upgrade = task.protocol === "ws" ? upgradeRequest(task.host, task.port) : null;
    this.step = task.rate > 0 ? 1000 / task.rate : 0;
  }

  /** A connection to the target whose reads land in the shared buffer and go to `onRead`. */
  connect(onRead: (socket: Socket, n: number) => boolean): Socket {
    const { host, port, tls } = this.task;
    if (tls !== null) return this.#connectTls(onRead, tls.verify);
    const socket: Socket = connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: this.readBuffer, callback: (n: number): boolean => onRead(socket, n) },
    });
    return socket;
  }

  /**
   * Over TLS: node:tls over a TCP socket of our own (which churn resets, see resetAndDestroy),
   * its decrypted reads copied into the shared buffer (tls.connect takes `onread` only when it
   * makes the socket itself).
   */
  #connectTls(onRead: (socket: Socket, n: number) => boolean, verify: boolean): Socket {
    const { host, port } = this.task;
    const raw = connect({ host, port, noDelay: true });
    const socket = tlsConnect({
      socket: raw,
      rejectUnauthorized: verify,
      ...(isIP(host) === 0 ? { servername: host } : { host }), // no SNI for an address (RFC 6066)
    });
    const buffer = this.readBuffer;
    socket.on("data", (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; at += buffer.length) {
        const n = chunk.copy(buffer, 0, at);
        if (!onRead(socket, n)) return;
      }
    });
    return socket;
  }

  /** Open loop from `at`; a ramp (--rate A..B) over the window [from, from + ms). */
  startSchedule(at: number, from = at, ms = 0): void {
    this.nextAt = at;
    this.rampFrom = from;
    this.rampMs = ms;
  }

  /**
   * Open loop: send the messages whose intended time has come, at most BURST a call. A client
   * that cannot keep up with its rate falls further behind with every message it sends: the
   * bound lets its reads and its window's end come between bursts (without it, each burst
   * outlasted the last and the run never ended), and nothing due after the window is sent.
   */
  pump(now: number): void {
    const streams = this.streams;
    const ramp = this.task.rateEnd !== this.task.rate;
    const end = Math.min(now, this.meter.to);
    for (let n = 0; this.nextAt <= end && n < BURST && !this.stopped; n++) {
      if (streams.length > 0) {
        (streams[this.cursor] as Flow).sendAt(this.nextAt, now);
        this.cursor = (this.cursor + 1) % streams.length;
      } else {
        // open-churn: a new connection on a free churner; none free, the arrival waits (its
        // latency still counts from when it was due) until one comes back through release().
        const churner = this.free.pop();
        if (churner === undefined) return;
        churner.open(now, this.nextAt);
      }
      this.nextAt += ramp ? 1000 / this.rateAt(this.nextAt) : this.step;
    }
  }

  /** open-churn: a churner's connection ended; start whatever arrival is due. */
  release(churner: Churner, now: number): void {
    this.free.push(churner);
    this.pump(now);
  }

  /**
   * This thread's rate at `t`: `rate` until the window, then towards `rateEnd` by its end,
   * linearly or in `rateSteps` equal levels (the first `rate`, the last `rateEnd`).
   */
  rateAt(t: number): number {
    const { rate, rateEnd, rateSteps } = this.task;
    let f = Math.min(1, Math.max(0, (t - this.rampFrom) / this.rampMs));
    if (rateSteps > 1) f = Math.min(Math.floor(f * rateSteps), rateSteps - 1) / (rateSteps - 1);
    return rate + (rateEnd - rate) * f;
  }
}

/** Open loop: messages (or connections) one pump sends at most before the loop may turn. */
const BURST = 1024;

/** Connections a thread opens at once before the start. */
const CONNECT_WAVE = 64;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Connect before the start, so the window measures echo, not connection set-up; and a wave at a
 * time, each connection proven accepted by its first echo, so that opening a thousand at once
 * does not overflow the server's listen backlog (whose dropped handshakes then sit out a 1 s
 * SYN-ACK retransmit and show up as stalls in the window).
 */
async function openFlows(g: Group): Promise<void> {
  const { task, streams } = g;
  for (let i = 0; i < task.connections; i++)
    streams.push(
      task.protocol === "udp"
        ? new UdpFlow(g)
        : task.protocol === "http2"
          ? new H2Flow(g)
          : new Stream(g),
    );
  const wait = Math.min(task.timeoutMs, 1000);
  for (let i = 0; i < streams.length; i += CONNECT_WAVE)
    await Promise.all(streams.slice(i, i + CONNECT_WAVE).map((s) => s.open(wait)));
}

export async function runGroup(task: GroupTask): Promise<GroupResult> {
  const g = new Group(task);
  const streams = g.streams;
  const churners: Churner[] = [];
  const churn = task.workload === "churn" || task.workload === "open-churn";
  const scheduled = task.workload === "open" || task.workload === "open-churn";
  if (churn) {
    for (let i = 0; i < task.connections; i++) churners.push(new Churner(g));
  } else await openFlows(g);
  Atomics.add(task.barrier, 0, 1);
  Atomics.notify(task.barrier, 0);
  const go = Atomics.waitAsync(task.barrier, 1, 0);
  if (go.async) await go.value;

  const start = (task.start[0] as number) - performance.timeOrigin; // shared epoch -> this thread's clock
  g.meter.from = start + task.warmupMs;
  g.meter.to = g.meter.from + task.durationMs;
  const slicer = task.intervalMs > 0 ? new Slicer(task.intervalMs, task.progress) : null;
  g.meter.slicer = slicer;
  if (task.workload === "open-churn") g.free.push(...churners);
  else for (const c of churners) c.open();
  g.running = true;
  if (scheduled) g.startSchedule(start, g.meter.from, task.durationMs);
  else for (const s of streams) s.kick(performance.now());
  const checks = setInterval(
    () => {
      const now = performance.now();
      for (const s of streams) s.checkTimeout(now);
      for (const c of churners) c.checkTimeout(now);
      if (now >= g.meter.from) slicer?.flush(Math.min(now, g.meter.to) - g.meter.from);
    },
    Math.min(50, task.timeoutMs / 4),
  );
  const tick = scheduled
    ? setInterval(() => g.pump(performance.now()), 1) // for when no reply comes to pump
    : undefined;

  await sleep(g.meter.from - performance.now());
  g.meter.windowOpened();
  await sleep(g.meter.to - performance.now());
  g.meter.windowClosed();
  g.stopped = true;
  // What has waited longer than the timeout by the end is a timeout too; younger is in flight.
  const now = performance.now();
  for (const s of streams) s.checkTimeout(now);
  for (const c of churners) c.checkTimeout(now);
  for (const s of streams) if (s.stalledSince(g.meter.from)) g.meter.stalled++;
  slicer?.flush(task.durationMs, true);
  task.progress?.close();
  clearInterval(checks);
  clearInterval(tick);
  for (const s of streams) s.close();
  for (const c of churners) c.close();
  const result = g.meter.result();
  if (result.messages === 0 && g.firstError !== undefined) throw g.firstError;
  return result;
}

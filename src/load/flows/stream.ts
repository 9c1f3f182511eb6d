/**
 * A long-lived connection of the load client. Closed loop (steady): `pipeline` messages in
 * flight, each reply sends the next. Open loop: messages go out at their intended times whether
 * or not replies came back, and latency counts from the intended time, so a server that stalls
 * cannot hide the stall by slowing the client down (coordinated omission).
 */
import type { Socket } from "node:net";
import type { Group } from "./group.ts";
import { UpgradeReader } from "./websocket.ts";

export class Stream {
  private socket: Socket | null = null;
  private sent = 0;
  private received = 0;
  /** Ring of the send (or intended) times of the messages in flight, oldest at `head`. */
  private times = new Float64Array(8);
  /** Open loop: when each message in flight actually went out. */
  private sentAt = new Float64Array(8);
  private head = 0;
  private count = 0;
  /** WebSocket: reads the answer to the upgrade until the frames begin. */
  private upgrade: UpgradeReader | null = null;
  private readonly group: Group;

  constructor(group: Group) {
    this.group = group;
  }

  /** Settles open()'s promise: on the first echo, a failure, or the wait's end. */
  private onReady: (() => void) | undefined;

  /**
   * Connect and send the first message(s) (steady: the pipeline; open loop: one, before the
   * schedule starts). Resolves once the first echo is back, so the server has really accepted
   * the connection; or when the connection fails; or after `waitMs`, whichever comes first.
   */
  open(waitMs = 0): Promise<void> {
    const g = this.group;
    const socket = g.connect((s, n) => this.onRead(s, n));
    this.socket = socket;
    this.sent = this.received = this.head = this.count = 0;
    const now = performance.now();
    const first = g.task.workload === "steady" ? g.task.pipeline : 1;
    socket.cork();
    if (g.upgrade !== null) {
      // The first frames follow the request at once: the server reads them after the upgrade.
      this.upgrade = new UpgradeReader();
      socket.write(g.upgrade);
    }
    for (let i = 0; i < first; i++) this.send(socket, now);
    socket.uncork();
    socket.on("end", () => this.fail(socket));
    socket.on("error", (err) => {
      g.firstError ??= err;
      this.fail(socket);
    });
    if (waitMs === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.onReady?.(), waitMs);
      this.onReady = () => {
        clearTimeout(timer);
        this.onReady = undefined;
        resolve();
      };
    });
  }

  private onRead(socket: Socket, n: number): boolean {
    if (socket !== this.socket) return false;
    const g = this.group;
    let start = 0;
    if (this.upgrade !== null) {
      start = this.upgrade.read(g.readBuffer, 0, n);
      if (start === -2) {
        // The code survives the trip to the main thread in the message (cli.ts reads it there).
        g.firstError ??= new Error("EPROTO: the answer to the WebSocket upgrade was not a 101");
        this.fail(socket);
        return false;
      }
      if (start === -1) return true;
      this.upgrade = null;
    }
    const now = performance.now();
    const before = this.received;
    const after = before + n - start;
    const size = g.pattern.unit;
    if (!g.pattern.matches(g.readBuffer, start, n, before) || after / size > this.sent) {
      g.meter.mismatches++;
      this.restart(socket);
      return false;
    }
    this.received = after;
    g.meter.received(now, g.pattern.payloadBytes(before, after));
    const done = Math.floor(after / size) - Math.floor(before / size);
    const mask = this.times.length - 1;
    if (done > 0) this.onReady?.();
    for (let i = 0; i < done; i++) {
      g.meter.complete(now, this.times[this.head] as number, this.sentAt[this.head] as number);
      this.head = (this.head + 1) & mask;
      this.count--;
    }
    if (g.stopped || !g.running) return true;
    if (g.task.workload === "steady") {
      if (done > 1) socket.cork();
      for (let i = 0; i < done; i++) this.send(socket, now);
      if (done > 1) socket.uncork();
    } else {
      g.pump(now); // replies come far more often than the timer ticks: send what is due now
    }
    return true;
  }

  /** Steady, at the start: fill the pipeline again (the first messages came back idle). */
  kick(now: number): void {
    const socket = this.socket;
    if (socket === null) return;
    socket.cork();
    for (let i = this.count; i < this.group.task.pipeline; i++) this.send(socket, now);
    socket.uncork();
  }

  /**
   * Open loop: send one message intended for `at`. While reconnecting, what falls due is not
   * sent (the failure is already counted).
   */
  sendAt(at: number, now: number): void {
    if (this.socket !== null) this.send(this.socket, at, now);
  }

  private send(socket: Socket, at: number, now = at): void {
    if (this.count === this.times.length) this.grow();
    const slot = (this.head + this.count) & (this.times.length - 1);
    this.times[slot] = at;
    this.sentAt[slot] = now;
    this.count++;
    const messages = this.group.pattern.messages;
    socket.write(messages[this.sent++ % messages.length] as Buffer);
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    const sentAt = new Float64Array(this.times.length * 2);
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) & (this.times.length - 1);
      times[i] = this.times[slot] as number;
      sentAt[i] = this.sentAt[slot] as number;
    }
    this.times = times;
    this.sentAt = sentAt;
    this.head = 0;
  }

  /**
   * Its oldest message in flight was sent (or due) before `from` and is still not back: it
   * waited through the whole window. (A connection with nothing due in the window, as at low
   * open-loop rates, is not stalled.)
   */
  stalledSince(from: number): boolean {
    return this.socket !== null && this.count > 0 && (this.times[this.head] as number) <= from;
  }

  /** Count what has waited longer than the timeout, and start over on a new connection. */
  checkTimeout(now: number): void {
    const socket = this.socket;
    if (socket === null || this.count === 0) return;
    if (now - (this.times[this.head] as number) <= this.group.task.timeoutMs) return;
    this.group.meter.timeouts += this.count;
    for (let i = 0; i < this.count; i++) this.group.meter.failed(now);
    this.restart(socket);
  }

  private restart(socket: Socket): void {
    this.socket = null;
    socket.destroy();
    if (!this.group.stopped) void this.open();
  }

  /** The server closed or reset the connection, or it could not be made. */
  private fail(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    socket.destroy();
    this.onReady?.();
    if (this.group.stopped) return;
    this.group.meter.errors++;
    this.group.meter.failed(performance.now());
    setTimeout(() => {
      if (!this.group.stopped) void this.open();
    }, 10);
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}

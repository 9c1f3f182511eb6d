/**
 * A connect loop of the load client (churn): connect, send one message, read it back, close
 * with RST. Closing with RST (as a busy client or proxy does) leaves no TIME_WAIT socket on the
 * client, so a long run does not run out of ephemeral ports.
 *
 * Closed loop (`--churn`): the next connection at once. Open loop (`--churn --rate R`): the
 * group starts a connection at each intended arrival time on a free churner (at most
 * `connections` open at once); latency then counts from the intended arrival, so a server that
 * accepts late cannot hide it by holding the client back (coordinated omission), and from the
 * actual connect in the "from send" figures. Otherwise from the start of the connect to the
 * last echoed byte.
 */
import type { Socket } from "node:net";
import type { Group } from "./group.ts";

export class Churner {
  private socket: Socket | null = null;
  /** The intended start (open loop) or the actual one (closed loop). */
  private began = 0;
  private startedAt = 0;
  private received = 0;
  private readonly group: Group;

  constructor(group: Group) {
    this.group = group;
  }

  /** Open a connection now; in the open loop it was due at `due`. */
  open(now = performance.now(), due = now): void {
    const g = this.group;
    const socket = g.connect((s, n) => this.onRead(s, n));
    this.socket = socket;
    this.began = due;
    this.startedAt = now;
    this.received = 0;
    socket.write(g.pattern.messages[0] as Buffer); // queued by net until connected
    socket.on("error", (err) => {
      g.firstError ??= err;
      this.fail(socket);
    });
    socket.on("end", () => this.fail(socket));
  }

  private onRead(socket: Socket, n: number): boolean {
    if (socket !== this.socket) return false;
    const g = this.group;
    const now = performance.now();
    const size = g.task.size;
    if (this.received + n > size || !g.pattern.matches(g.readBuffer, 0, n, this.received)) {
      g.meter.mismatches++;
      this.next(socket, now);
      return false;
    }
    this.received += n;
    g.meter.received(now, n);
    if (this.received === size) {
      g.meter.complete(now, this.began, this.startedAt);
      this.next(socket, now);
      return false;
    }
    return true;
  }

  private next(socket: Socket, now: number): void {
    this.socket = null;
    // Over TLS the RST goes to the TCP socket under it (node:tls's own handle cannot send one).
    const tcp = (socket as { _parent?: Socket | null })._parent ?? socket;
    tcp.resetAndDestroy();
    if (tcp !== socket) socket.destroy();
    this.again(now);
  }

  /** Closed loop: the next connection at once (after `delayMs`); open loop: back to the pool. */
  private again(now: number, delayMs = 0): void {
    const g = this.group;
    if (g.stopped) return;
    if (g.task.workload === "open-churn") g.release(this, now);
    else if (delayMs === 0) this.open(now);
    else
      setTimeout(() => {
        if (!g.stopped) this.open();
      }, delayMs);
  }

  checkTimeout(now: number): void {
    const socket = this.socket;
    if (socket === null || now - this.began <= this.group.task.timeoutMs) return;
    this.group.meter.timeouts++;
    this.group.meter.failed(now);
    this.next(socket, now);
  }

  private fail(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    socket.destroy();
    if (this.group.stopped) return;
    this.group.meter.errors++;
    const now = performance.now();
    this.group.meter.failed(now);
    this.again(now, 10);
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}

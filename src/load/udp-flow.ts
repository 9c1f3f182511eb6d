/**
 * A UDP "connection" of the load client (--protocol udp): one socket connected to the target,
 * sending datagrams of `size` bytes, each a 4-byte sequence number and then the pattern's
 * message, and checking every answer against what was sent under that number. UDP may lose,
 * reorder or duplicate: a datagram not back within the timeout is lost (and, in a closed loop,
 * replaced), one back while an older one is still out is reordered, one back that is not out
 * (after its loss was counted, or twice) is late; none of them is a mismatch, which is an answer
 * whose bytes differ from what was sent under its number.
 */
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { Group } from "./group.ts";
import { VARIANTS } from "./pattern.ts";

const HEADER = 4;

export class UdpFlow {
  #socket: Socket | null = null;
  #next = 0;
  /** In flight: sequence number -> intended send time, and -> actual send time (oldest first). */
  readonly #at = new Map<number, number>();
  readonly #sentAt = new Map<number, number>();
  readonly #group: Group;
  #onReady: (() => void) | undefined;

  constructor(group: Group) {
    this.#group = group;
  }

  open(waitMs = 0): Promise<void> {
    const g = this.#group;
    const socket = createSocket(isIPv6(g.task.host) ? "udp6" : "udp4");
    this.#socket = socket;
    socket.on("message", (msg: Buffer) => this.#onMessage(msg));
    socket.on("error", (err) => {
      g.firstError ??= err;
      g.meter.errors++;
    });
    const ready = new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#onReady?.(), waitMs || 1);
      this.#onReady = () => {
        clearTimeout(timer);
        this.#onReady = undefined;
        resolve();
      };
    });
    socket.connect(g.task.port, g.task.host, () => {
      const now = performance.now();
      const first = g.task.workload === "steady" ? g.task.pipeline : 1;
      for (let i = 0; i < first; i++) this.#send(now);
    });
    return waitMs === 0 ? Promise.resolve() : ready;
  }

  #send(at: number, now = at): void {
    const socket = this.#socket;
    if (socket === null) return;
    const seq = this.#next;
    this.#next = (this.#next + 1) >>> 0;
    const head = Buffer.allocUnsafe(HEADER);
    head.writeUInt32BE(seq, 0);
    const g = this.#group;
    const body = (g.pattern.messages[seq % VARIANTS] as Buffer).subarray(0, g.task.size - HEADER);
    this.#at.set(seq, at);
    this.#sentAt.set(seq, now);
    socket.send([head, body], (err) => {
      if (err) g.meter.errors++;
    });
  }

  #onMessage(msg: Buffer): void {
    const g = this.#group;
    const now = performance.now();
    if (msg.length < HEADER) {
      g.meter.mismatches++;
      return;
    }
    const seq = msg.readUInt32BE(0);
    const at = this.#at.get(seq);
    if (at === undefined) {
      g.meter.late++;
      return;
    }
    const expected = (g.pattern.messages[seq % VARIANTS] as Buffer).subarray(
      0,
      g.task.size - HEADER,
    );
    if (msg.length !== g.task.size || msg.compare(expected, 0, expected.length, HEADER) !== 0) {
      g.meter.mismatches++;
    } else {
      if (this.#at.keys().next().value !== seq) g.meter.reordered++;
      g.meter.received(now, msg.length);
      g.meter.complete(now, at, this.#sentAt.get(seq) as number);
    }
    this.#at.delete(seq);
    this.#sentAt.delete(seq);
    this.#onReady?.();
    if (g.stopped || !g.running) return;
    if (g.task.workload === "steady") this.#send(now);
    else g.pump(now);
  }

  kick(now: number): void {
    for (let i = this.#at.size; i < this.#group.task.pipeline; i++) this.#send(now);
  }

  sendAt(at: number, now: number): void {
    this.#send(at, now);
  }

  /** Datagrams out longer than the timeout are lost; a closed loop sends others in their place. */
  checkTimeout(now: number): void {
    const g = this.#group;
    for (const [seq, at] of this.#at) {
      if (now - at <= g.task.timeoutMs) break; // oldest first: the rest are younger
      this.#at.delete(seq);
      this.#sentAt.delete(seq);
      g.meter.lost++;
      if (g.task.workload === "steady" && g.running && !g.stopped) this.#send(now);
    }
  }

  stalledSince(): boolean {
    return false; // a datagram is lost or back: nothing waits for ever
  }

  close(): void {
    this.#socket?.close();
    this.#socket = null;
  }
}

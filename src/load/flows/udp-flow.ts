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
import { InFlight } from "./in-flight.ts";
import { VARIANTS } from "./pattern.ts";

const HEADER = 4;

export class UdpFlow {
  #socket: Socket | null = null;
  #next = 0;
  /** In flight, by sequence number. */
  readonly #out: InFlight<number>;
  readonly #group: Group;
  #onReady: (() => void) | undefined;

  constructor(group: Group) {
    this.#group = group;
    this.#out = new InFlight(group, (now) => this.#send(now));
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
    this.#out.add(seq, at, now);
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
    if (!this.#out.has(seq)) {
      g.meter.late++;
      return;
    }
    const expected = (g.pattern.messages[seq % VARIANTS] as Buffer).subarray(
      0,
      g.task.size - HEADER,
    );
    const intact =
      msg.length === g.task.size && msg.compare(expected, 0, expected.length, HEADER) === 0;
    if (!intact) g.meter.mismatches++;
    else if (this.#out.oldest() !== seq) g.meter.reordered++;
    this.#out.answered(seq, now, intact ? msg.length : null);
    this.#onReady?.();
  }

  kick(now: number): void {
    this.#out.kick(now);
  }

  sendAt(at: number, now: number): void {
    this.#send(at, now);
  }

  /** Datagrams out longer than the timeout are lost; a closed loop sends others in their place. */
  checkTimeout(now: number): void {
    this.#out.expire(now, () => {
      this.#group.meter.lost++;
      this.#group.meter.failed(now);
    });
  }

  stalledSince(): boolean {
    return false; // a datagram is lost or back: nothing waits for ever
  }

  close(): void {
    this.#socket?.close();
    this.#socket = null;
  }
}

/**
 * An HTTP/2 connection of the load client (--protocol http2: h2c with prior knowledge, or h2 by
 * ALPN with --tls): one session, `pipeline` POST streams in flight on it (closed loop) or one per intended send time
 * (open loop), each body the pattern's message and each answer's body checked against it.
 * A stream not answered within the timeout is cancelled and counted; a session that fails is
 * counted and opened again.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, connect } from "node:http2";
import type { Group } from "./group.ts";
import { InFlight } from "./in-flight.ts";
import { VARIANTS } from "./pattern.ts";

const CANCEL = 0x8;

export class H2Flow {
  #session: ClientHttp2Session | null = null;
  #next = 0;
  /** In flight, by stream. */
  readonly #open: InFlight<ClientHttp2Stream>;
  readonly #group: Group;
  /** Every request's headers: a POST of the message's length, as most clients send it. */
  readonly #headers: Readonly<Record<string, string>>;
  #onReady: (() => void) | undefined;

  constructor(group: Group) {
    this.#group = group;
    this.#headers = {
      ":method": "POST",
      ":path": "/",
      "content-type": "application/octet-stream",
      "content-length": String(group.task.size),
    };
    this.#open = new InFlight(group, (now) => this.#send(now));
  }

  open(waitMs = 0): Promise<void> {
    const g = this.#group;
    const host = g.task.host.includes(":") ? `[${g.task.host}]` : g.task.host;
    const tls = g.task.tls;
    const session = connect(`${tls === null ? "http" : "https"}://${host}:${g.task.port}`, {
      rejectUnauthorized: tls?.verify ?? true,
    });
    this.#session = session;
    session.on("error", (err) => {
      g.firstError ??= err;
      this.#fail(session);
    });
    session.on("goaway", () => this.#fail(session));
    session.on("connect", () => {
      const now = performance.now();
      const first = g.task.workload === "steady" ? g.task.pipeline : 1;
      for (let i = 0; i < first; i++) this.#send(now);
    });
    if (waitMs === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#onReady?.(), waitMs);
      this.#onReady = () => {
        clearTimeout(timer);
        this.#onReady = undefined;
        resolve();
      };
    });
  }

  #send(at: number, now = at): void {
    const session = this.#session;
    if (session === null || session.closed || session.destroyed) return;
    const g = this.#group;
    const body = g.pattern.messages[this.#next++ % VARIANTS] as Buffer;
    const stream = session.request(this.#headers);
    this.#open.add(stream, at, now);
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on("response", (h) => {
      status = Number(h[":status"]);
    });
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.on("error", () => {});
    stream.on("end", () => this.#answered(stream, status, Buffer.concat(chunks), body));
    stream.end(body);
  }

  #answered(stream: ClientHttp2Stream, status: number, got: Buffer, sent: Buffer): void {
    const g = this.#group;
    if (!this.#open.has(stream)) return; // cancelled: counted as a timeout already
    const intact = status === 200 && got.equals(sent);
    const now = performance.now();
    if (status !== 200) {
      g.meter.errors++;
      g.meter.failed(now);
    } else if (!intact) g.meter.mismatches++;
    this.#onReady?.();
    this.#open.answered(stream, now, intact ? got.length : null);
  }

  kick(now: number): void {
    this.#open.kick(now);
  }

  sendAt(at: number, now: number): void {
    this.#send(at, now);
  }

  checkTimeout(now: number): void {
    this.#open.expire(now, (stream) => {
      stream.close(CANCEL);
      this.#group.meter.timeouts++;
      this.#group.meter.failed(now);
    });
  }

  stalledSince(from: number): boolean {
    return this.#open.oldestBefore(from);
  }

  /** The session failed or was told to go: count it, and open another. */
  #fail(session: ClientHttp2Session): void {
    if (session !== this.#session) return;
    this.#session = null;
    this.#open.clear();
    session.destroy();
    this.#onReady?.();
    const g = this.#group;
    if (g.stopped) return;
    g.meter.errors++;
    g.meter.failed(performance.now());
    setTimeout(() => {
      if (!g.stopped) void this.open();
    }, 10);
  }

  close(): void {
    this.#session?.destroy();
    this.#session = null;
  }
}

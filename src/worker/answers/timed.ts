/**
 * Timed answers: those that wait or stream on a timer (echo_delay, echo_chunks, /sse). One
 * instance per loop owns them all: it caps how many run at once (--max-streaming, then 503), and
 * ends each one when its client goes however it goes. A response's 'close' is not enough: node:http2
 * does not always emit it for a stream its client abandoned, so every tick looks at the stream
 * itself, and a sweep once a second ends what no tick has seen go (and anything past
 * --max-delay, whose answers the parameters already bound).
 */
import type { ServerResponse } from "node:http";

const SWEEP_MS = 1_000;

/** What answers our own exception (500, or a cut answer) and counts it. */
type Fail = (res: ServerResponse, err: unknown) => void;

interface H2Stream {
  readonly destroyed: boolean;
  readonly closed: boolean;
  readonly session?: { readonly destroyed: boolean } | undefined;
}

/** Has the client of `res` gone (its socket, or its HTTP/2 stream or session)? */
export function gone(res: ServerResponse): boolean {
  const stream = (res as { stream?: H2Stream }).stream;
  if (stream !== undefined)
    return stream.destroyed || stream.closed || stream.session?.destroyed !== false;
  return res.destroyed || res.req.socket.destroyed;
}

/** One timed answer's timers: each callback runs only while its client is there. */
export class Timed {
  readonly res: ServerResponse;
  readonly startedAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #repeat = false;
  readonly #end: (t: Timed) => void;
  readonly #fail: Fail;

  constructor(res: ServerResponse, end: (t: Timed) => void, fail: Fail) {
    this.res = res;
    this.#end = end;
    this.#fail = fail;
  }

  /**
   * Run `f` in `ms` (or every `ms`), unless the client has gone by then (then stop). What `f`
   * throws stops the answer and goes to the loop's `fail`, as a request handler's would.
   */
  after(ms: number, f: () => void, repeat = false): void {
    clearTimeout(this.#timer);
    this.#repeat = repeat;
    const run = (): void => {
      if (!this.#repeat) this.#timer = undefined;
      if (gone(this.res)) {
        this.stop();
        return;
      }
      try {
        f();
      } catch (err) {
        this.stop();
        this.#fail(this.res, err);
      }
    };
    this.#timer = repeat ? setInterval(run, ms) : setTimeout(run, ms);
  }

  /** Done (or the client went): no more ticks; the loop's count goes down. Idempotent. */
  stop(): void {
    if (this.#repeat) clearInterval(this.#timer);
    else clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#end(this);
  }
}

export class TimedAnswers {
  readonly #live = new Set<Timed>();
  readonly #max: number;
  readonly #maxMs: number;
  readonly #fail: Fail;
  #sweep: NodeJS.Timeout | undefined;

  /** At most `max` at once; none runs longer than `maxMs` (--max-delay) and a second's grace. */
  constructor(max: number, maxMs: number, fail: Fail) {
    this.#max = max;
    this.#maxMs = maxMs;
    this.#fail = fail;
  }

  get open(): number {
    return this.#live.size;
  }

  /** Start a timed answer for `res`, or null when the loop runs its cap (answer 503). */
  begin(res: ServerResponse): Timed | null {
    if (this.#live.size >= this.#max) return null;
    const t = new Timed(res, this.#ended, this.#fail);
    this.#live.add(t);
    res.once("close", () => t.stop());
    if (this.#sweep === undefined) {
      this.#sweep = setInterval(this.#check, SWEEP_MS);
      this.#sweep.unref();
    }
    return t;
  }

  readonly #ended = (t: Timed): void => {
    this.#live.delete(t);
    if (this.#live.size === 0 && this.#sweep !== undefined) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  };

  readonly #check = (): void => {
    const late = Date.now() - this.#maxMs - SWEEP_MS;
    for (const t of this.#live) {
      if (gone(t.res)) t.stop();
      else if (t.startedAt < late) {
        t.stop();
        t.res.destroy();
      }
    }
  };
}

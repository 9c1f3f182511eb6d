/**
 * The TCP echo with --tcp-faults (src/fault-plans.ts): per connection, rolled on the loop's dice
 * when it is accepted, a reset or a close at its first read, a stall from accept, a FIN after so
 * many bytes; per read, a delay. Only loops with --tcp-faults run this; the plain echo
 * (echo.ts) stays as it is.
 *
 * Bounds: a connection has at most one timer (its stall, or its one delayed read: reading waits
 * meanwhile, so a delayed read holds at most one chunk), cleared when the connection closes,
 * however it closes. Delays and stalls are within --max-delay (checked at start).
 */
import type { Socket } from "node:net";
import { parseTcpFaults, type TcpFaultPlan } from "../../fault-plans.ts";
import type { TcpFaultCounts } from "../../stats.ts";
import { DICE, type Dice, diceFor } from "../answers/injected.ts";
import { reset } from "../loop/reset.ts";
import type { Tally } from "../loop/tally.ts";
import type { Work } from "../work/work.ts";

/** One connection's fate: what its dice said at accept, and its one timer. */
interface Fate {
  readonly owner: FaultyEcho;
  first: "reset" | "close" | null;
  /** Bytes to echo before a FIN (close-after), or Infinity. */
  left: number;
  timer: NodeJS.Timeout | null;
  /** The client's FIN came while a timer ran: end once it has. */
  ended: boolean;
  /** Reading was paused for backpressure (not for a timer). */
  full: boolean;
}

const FATE = Symbol("echoplex.fate");
interface Faulted extends Socket {
  [FATE]: Fate;
}

function onDrain(this: Faulted): void {
  const fate = this[FATE];
  fate.full = false;
  if (fate.timer === null) this.resume();
}

// Listeners shared by every connection (no closure per connection): the fate names its loop's echo.
function onData(this: Faulted, chunk: Buffer): void {
  this[FATE].owner.data(this, chunk);
}

function onEnd(this: Faulted): void {
  const fate = this[FATE];
  if (fate.timer === null) this.end();
  else fate.ended = true;
}

function onClose(this: Faulted): void {
  const fate = this[FATE];
  if (fate.timer !== null) clearTimeout(fate.timer);
  fate.timer = null;
}

/** The listeners of a loop's faulty echo, sharing its plan, dice and counts. */
export class FaultyEcho {
  readonly #plan: TcpFaultPlan;
  readonly #dice: Dice;
  readonly #counts: TcpFaultCounts;
  /** CPU work done on each chunk before it goes back (--work, not offloaded), or null. */
  readonly #digest: ((chunk: Buffer) => unknown) | null;

  constructor(
    plan: TcpFaultPlan,
    dice: Dice,
    counts: TcpFaultCounts,
    digest: ((chunk: Buffer) => unknown) | null,
  ) {
    this.#plan = plan;
    this.#dice = dice;
    this.#counts = counts;
    this.#digest = digest;
  }

  /** Roll an admitted connection's fate and serve it. */
  serve(socket: Socket, onError: () => void): void {
    const plan = this.#plan;
    const dice = this.#dice;
    const first = dice.hit(plan.reset) ? "reset" : dice.hit(plan.close) ? "close" : null;
    const fate: Fate = {
      owner: this,
      first,
      left: dice.choose(plan.closeAfter) ?? Number.POSITIVE_INFINITY,
      timer: null,
      ended: false,
      full: false,
    };
    const s = socket as Faulted;
    s[FATE] = fate;
    socket.setNoDelay(true);
    socket.on("data", onData);
    socket.on("drain", onDrain);
    socket.on("end", onEnd);
    socket.on("close", onClose);
    socket.on("error", onError);
    const stall = dice.choose(plan.stall) ?? 0;
    if (stall > 0) {
      this.#counts.stall++;
      socket.pause();
      fate.timer = setTimeout(this.#wake, stall, s);
    }
  }

  /** A read of `s`'s: its first read's fate, or its echo, now or later. */
  data(s: Faulted, chunk: Buffer): void {
    const fate = s[FATE];
    if (s.writableEnded || s.destroyed) return;
    if (fate.first !== null) {
      this.#counts[fate.first]++;
      if (fate.first === "reset") reset(s);
      else s.destroySoon();
      return;
    }
    const delay = this.#dice.choose(this.#plan.delay) ?? 0;
    if (delay <= 0) {
      this.#echo(s, chunk);
      return;
    }
    this.#counts.delay++;
    s.pause();
    fate.timer = setTimeout(this.#late, delay, s, chunk);
  }

  #late = (s: Faulted, chunk: Buffer): void => {
    s[FATE].timer = null;
    this.#echo(s, chunk);
    this.#wake(s);
  };

  /** A timer is over: go on reading (or end, if the client did meanwhile). */
  #wake = (s: Faulted): void => {
    const fate = s[FATE];
    fate.timer = null;
    if (s.writableEnded || s.destroyed) return;
    if (fate.ended) s.end();
    else if (!fate.full) s.resume();
  };

  #echo(s: Faulted, chunk: Buffer): void {
    const fate = s[FATE];
    this.#digest?.(chunk);
    if (chunk.length >= fate.left) {
      this.#counts["close-after"]++;
      s.end(chunk.subarray(0, fate.left));
      s.destroySoon();
      return;
    }
    fate.left -= chunk.length;
    if (!s.write(chunk)) {
      fate.full = true;
      s.pause();
    }
  }
}

/** A loop's --tcp-faults echo, or null without them. */
export function tcpFaults(
  o: {
    readonly tcpFaults: string | null;
    readonly maxDelayMs: number;
    readonly faultSeed: number | null;
  },
  s: { readonly worker: number; readonly tally: Tally; readonly work: Work | null },
): FaultyEcho | null {
  if (o.tcpFaults === null) return null;
  const plan = parseTcpFaults(o.tcpFaults, o.maxDelayMs);
  const work = s.work;
  const digest = work === null ? null : (chunk: Buffer) => work.digest(chunk);
  return new FaultyEcho(plan, diceFor(o.faultSeed, s.worker, DICE.tcp), s.tally.faults.tcp, digest);
}

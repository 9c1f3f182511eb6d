/**
 * The WebSocket echo's --ws-faults (src/fault-plans.ts), per message, on the loop's dice: the
 * connection closed with a code instead of the echo, the message dropped, or its echo delayed.
 * A delayed echo keeps its place: the messages after it wait behind it (their own delays count
 * from their arrival), in a queue the connection owns with its one timer; reading pauses while
 * anything waits, so the queue holds at most what ws had parsed from its last read. The queue and
 * its timer end when the connection closes, however it closes.
 */
import type { RawData, WebSocket } from "ws";
import { parseWsFaults, type WsFaultPlan } from "../../fault-plans.ts";
import type { WsFaultCounts } from "../../stats.ts";
import { DICE, type Dice, diceFor } from "../answers/injected.ts";
import type { Tally } from "../loop/tally.ts";
import { send } from "./echo.ts";
import { HIGH_WATER } from "./fast.ts";

/** One message waiting: its echo, or (code > 0) the close that takes its place. */
interface Waiting {
  readonly data: RawData;
  readonly isBinary: boolean;
  readonly code: number;
  /** performance.now() at which it goes. */
  readonly due: number;
}

interface Line {
  readonly queue: Waiting[];
  timer: NodeJS.Timeout | null;
}

const LINE = Symbol("echoplex.wsFaultLine");
interface Lined extends WebSocket {
  [LINE]?: Line;
}

function onClose(this: Lined): void {
  const line = this[LINE];
  if (line === undefined) return;
  if (line.timer !== null) clearTimeout(line.timer);
  line.timer = null;
  line.queue.length = 0;
}

export class WsFaults {
  readonly #plan: WsFaultPlan;
  readonly #dice: Dice;
  readonly #counts: WsFaultCounts;

  constructor(plan: WsFaultPlan, dice: Dice, counts: WsFaultCounts) {
    this.#plan = plan;
    this.#dice = dice;
    this.#counts = counts;
  }

  /** One message in: its echo now, later, never, or a close in its place. */
  message(ws: Lined, data: RawData, isBinary: boolean): void {
    const dice = this.#dice;
    const code = dice.choose(this.#plan.close) ?? 0;
    if (code === 0 && dice.hit(this.#plan.drop)) {
      this.#counts.drop++;
      return;
    }
    const delay = code === 0 ? (dice.choose(this.#plan.delay) ?? 0) : 0;
    if (delay > 0) this.#counts.delay++;
    const line = ws[LINE];
    if (delay === 0 && (line === undefined || line.queue.length === 0)) {
      this.#go(ws, { data, isBinary, code, due: 0 });
      return;
    }
    // Behind what waits already: the queue goes in order, each when it is due and first.
    this.#wait(ws, { data, isBinary, code, due: performance.now() + delay });
  }

  #wait(ws: Lined, w: Waiting): void {
    let line = ws[LINE];
    if (line === undefined) {
      line = { queue: [], timer: null };
      ws[LINE] = line;
      ws.once("close", onClose);
    }
    line.queue.push(w);
    ws.pause();
    if (line.timer === null) this.#arm(ws, line);
  }

  #arm(ws: Lined, line: Line): void {
    const head = line.queue[0];
    if (head === undefined) {
      // Unless the client is slow to read: then the echo's backpressure resumes (echo.ts).
      if (ws.bufferedAmount < HIGH_WATER) ws.resume();
      return;
    }
    line.timer = setTimeout(this.#due, Math.max(0, head.due - performance.now()), ws, line);
  }

  #due = (ws: Lined, line: Line): void => {
    line.timer = null;
    const now = performance.now();
    while (line.queue.length > 0 && (line.queue[0] as Waiting).due <= now + 1)
      this.#go(ws, line.queue.shift() as Waiting);
    this.#arm(ws, line);
  };

  #go(ws: WebSocket, w: Waiting): void {
    if (w.code === 0) {
      send(ws, w.data, w.isBinary);
      return;
    }
    this.#counts.close++;
    ws.close(w.code, "injected fault");
  }
}

/** A loop's --ws-faults, or null without them. */
export function wsFaults(
  o: {
    readonly wsFaults: string | null;
    readonly maxDelayMs: number;
    readonly faultSeed: number | null;
  },
  s: { readonly worker: number; readonly tally: Tally },
): WsFaults | null {
  if (o.wsFaults === null) return null;
  const plan = parseWsFaults(o.wsFaults, o.maxDelayMs);
  const dice = diceFor(o.faultSeed, s.worker, DICE.websocket);
  return new WsFaults(plan, dice, s.tally.faults.websocket);
}

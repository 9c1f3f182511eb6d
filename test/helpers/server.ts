import { after, before, type TestContext } from "node:test";
import { type RunningServer, startServer } from "../../bench/lib/server.ts";

export { childPids } from "../../bench/lib/proc.ts";
export type { RunningServer } from "../../bench/lib/server.ts";

type WithCleanup = TestContext | { after(fn: () => unknown): void };

/** Start a server on a free port and stop it (SIGKILL if it hangs) when the test ends. */
export async function serve(
  t: WithCleanup,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<RunningServer> {
  const defaults = ["--port", "0", "--log-level", "warn", "--drain-timeout", "3"];
  const server = await startServer([...defaults, ...args], { env });
  t.after(async () => {
    const killer = setTimeout(() => server.proc.kill("SIGKILL"), 10_000);
    await server.stop("SIGTERM");
    clearTimeout(killer);
  });
  return server;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `p`, or what `late()` gives if `p` has not settled within `ms`. The timer is cleared as soon as
 * the race is decided: a sleep left running in a race keeps the test file's process alive until
 * it fires (a 15 s one did, after every signals test).
 */
export async function within<T, U>(p: Promise<T>, ms: number, late: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<U>((resolve) => {
    timer = setTimeout(() => resolve(late()), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll `check` (sync or async) until it gives a value that is not undefined; fail after `ms`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The first log line whose `msg` is `msg`, once the server (or a worker) has printed it. */
export function logged(server: RunningServer, msg: string): Promise<Record<string, unknown>> {
  return waitFor(`the "${msg}" line`, () => server.lines.find((l) => l.msg === msg));
}

/**
 * Poll `read` until its value has not changed for `quietMs` (a client's queue the server stopped
 * taking from, say), and return that value; fail after `ms`.
 */
export async function settled(
  what: string,
  read: () => number,
  quietMs = 250,
  ms = 10_000,
): Promise<number> {
  const deadline = Date.now() + ms;
  let value = read();
  let since = Date.now();
  for (;;) {
    await sleep(20);
    const now = read();
    if (now !== value) [value, since] = [now, Date.now()];
    else if (Date.now() - since >= quietMs) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} to settle`);
  }
}

/**
 * One server for a whole describe block: started in a before hook, stopped in an after hook.
 * Call it at the top of the describe; read `.server` inside the tests.
 */
export function sharedServer(args: readonly string[]): { readonly server: RunningServer } {
  const cleanups: (() => unknown)[] = [];
  const shared = {} as { server: RunningServer };
  before(async () => {
    shared.server = await serve({ after: (fn: () => unknown) => cleanups.push(fn) }, args);
  });
  after(async () => {
    for (const fn of cleanups) await fn();
  });
  return shared;
}

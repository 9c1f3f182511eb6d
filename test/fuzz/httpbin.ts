/**
 * httpbin's endpoints from their grammar (test/httpbin/grammar.ts), over HTTP/1.1 and h2c, with
 * --faults beside them: every case answered within CASE_MS, no worker exit, no internal error.
 */

import { session } from "../helpers/h2.ts";
import type { RunningServer } from "../helpers/server.ts";
import { ask, type HttpbinRequest, httpbinRequest } from "../httpbin/grammar.ts";
import { CASE_MS, type Surface } from "./surface.ts";

/** Answered (not with a 500) or closed (--faults close) within CASE_MS. */
async function send(server: RunningServer, q: HttpbinRequest): Promise<void> {
  const port = server.listening.http as number;
  const s = session(port);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), CASE_MS);
  });
  try {
    const r = await Promise.race([ask(port, s, q).catch(() => "closed" as const), late]);
    if (r === "late") throw new Error(`neither answered nor closed within ${CASE_MS} ms`);
    if (r !== "closed" && r.status === 500) throw new Error(`500 for ${q.method} ${q.path}`);
  } finally {
    clearTimeout(timer);
    s.destroy();
  }
}

export function httpbinSurface(common: readonly string[]): Surface<HttpbinRequest> {
  return {
    name: "httpbin",
    args: [
      ...common,
      ...["--http", "0", "--http2", "on", "--max-delay", "0.5", "--max-streaming", "20"],
      ...["--faults", "status=503:2,close=1", "--fault-seed", "1"],
    ],
    cases: httpbinRequest,
    send,
  };
}

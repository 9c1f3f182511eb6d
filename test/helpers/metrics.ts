/** /metrics on the admin port, read as a test reads it. */
import { HOST } from "./client.ts";
import type { RunningServer } from "./server.ts";

/** Every sample of `/metrics`, keyed by name and labels as printed. */
export async function scrape(
  server: RunningServer,
): Promise<{ type: string; samples: Map<string, number> }> {
  const res = await fetch(`http://${HOST}:${server.listening.admin}/metrics`);
  const text = await res.text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { type: res.headers.get("content-type") ?? "", samples };
}

/** The sum of a metric over its labels (filtered by `having`, e.g. outcome="answered"). */
export function sum(samples: Map<string, number>, name: string, having = ""): number {
  let total = 0;
  for (const [key, value] of samples) {
    if ((key === name || key.startsWith(`${name}{`)) && key.includes(having)) total += value;
  }
  return total;
}

/** Workers replaced after they exited, from /metrics (0 while none crashed). */
export async function restarts(server: RunningServer): Promise<number> {
  return sum((await scrape(server)).samples, "echoplex_worker_restarts_total");
}

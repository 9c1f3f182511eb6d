/**
 * The admin port (--admin, on the primary): /healthz says the primary is alive; /readyz says
 * whether the server takes connections: at least one worker up and no drain or rolling restart
 * under way (503 otherwise, with the reason, so a load balancer stops sending before the drain
 * closes anything). While a worker is being replaced the others serve: /readyz stays 200 and
 * says `degraded`, so workers that crash cannot by themselves take a replica out of rotation.
 * /metrics is Prometheus text (metrics.ts). With --admin-token, POSTs flip readiness and set
 * --faults (admin-control.ts).
 */
import { createServer, type ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { listen } from "../listen.ts";
import type { AdminControl } from "./admin-control.ts";
import type { WorkerCount } from "./topology.ts";

export interface AdminStatus {
  /** Workers up, of how many there should be. */
  readonly workers: WorkerCount;
  /** A SIGTERM/SIGINT drain has begun. */
  readonly draining: boolean;
  /** A SIGHUP rolling restart is under way. */
  readonly restarting: boolean;
  /** POST /readyz/disable was the last word (admin-control.ts). */
  readonly disabled?: boolean;
}

export interface Admin {
  readonly port: number;
  close(): void;
}

/** Why the server should get no new connections now, or undefined when it should. */
export function notReady(s: AdminStatus): string | undefined {
  if (s.draining) return "draining";
  if (s.disabled === true) return "disabled by POST /readyz/disable";
  if (s.restarting) return "rolling restart";
  if (s.workers.ready === 0)
    return s.workers.outOfDescriptors ? "workers out of descriptors" : "no worker is ready";
  return undefined;
}

const PATHS = ["/healthz", "/readyz", "/metrics", "/faults", "/readyz/disable", "/readyz/enable"];

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

export async function startAdmin(
  host: string,
  port: number,
  status: () => AdminStatus,
  metrics: Registry,
  control: AdminControl,
): Promise<Admin> {
  const started = Date.now();
  const server = createServer((req, res) => {
    const path = req.url?.split("?", 1)[0];
    if (path === "/healthz") {
      reply(res, 200, { status: "ok", pid: process.pid, uptime: (Date.now() - started) / 1000 });
    } else if (path === "/readyz") {
      const s = status();
      const reason = notReady(s);
      const degraded = reason === undefined && s.workers.ready < s.workers.of;
      reply(res, reason === undefined ? 200 : 503, {
        ready: reason === undefined,
        reason,
        ...(degraded ? { degraded: true, workers: s.workers } : {}),
      });
    } else if (path === "/metrics") {
      metrics.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": metrics.contentType });
          res.end(text);
        },
        (err: Error) => reply(res, 500, { error: err.message }),
      );
    } else if (path === undefined || !control.handle(path, req, res, reply)) {
      reply(res, 404, { error: "not found", paths: PATHS });
    }
  });
  // Probes open a connection each time; none may hold the drain up, nor a slow POST a socket.
  server.keepAliveTimeout = 1_000;
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  const bound = await listen(server, { host, port }, "--admin");
  server.unref();
  return {
    port: bound,
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}

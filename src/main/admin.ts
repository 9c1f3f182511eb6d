/**
 * The admin port (--admin, on the primary): /healthz says the primary is alive; /readyz says
 * whether the server takes connections: every worker up, no drain or restart under way (503
 * otherwise, with the reason, so a load balancer stops sending before the drain closes
 * anything); /metrics is Prometheus text (metrics.ts).
 */
import { createServer, type ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { listen } from "../listen.ts";

export interface AdminStatus {
  /** Every worker is up. */
  readonly workersReady: boolean;
  /** A SIGTERM/SIGINT drain has begun. */
  readonly draining: boolean;
  /** A SIGHUP rolling restart is under way. */
  readonly restarting: boolean;
}

export interface Admin {
  readonly port: number;
  close(): void;
}

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
): Promise<Admin> {
  const started = Date.now();
  const server = createServer((req, res) => {
    const path = req.url?.split("?", 1)[0];
    if (path === "/healthz") {
      reply(res, 200, { status: "ok", pid: process.pid, uptime: (Date.now() - started) / 1000 });
    } else if (path === "/readyz") {
      const { workersReady, draining, restarting } = status();
      const reason = draining
        ? "draining"
        : restarting
          ? "rolling restart"
          : workersReady
            ? undefined
            : "a worker is not ready";
      reply(res, reason === undefined ? 200 : 503, { ready: reason === undefined, reason });
    } else if (path === "/metrics") {
      metrics.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": metrics.contentType });
          res.end(text);
        },
        (err: Error) => reply(res, 500, { error: err.message }),
      );
    } else {
      reply(res, 404, { error: "not found", paths: ["/healthz", "/readyz", "/metrics"] });
    }
  });
  // Probes open a connection each time; none may hold the drain up.
  server.keepAliveTimeout = 1_000;
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

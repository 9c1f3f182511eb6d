/**
 * HAProxy in front of the fleet: TCP mode for the echo port, HTTP mode for the HTTP port, each
 * server health-checked on its own admin address (`GET /readyz`, so a draining echoplex leaves
 * the pool before its listeners close), retries and redispatch for connections a server refused
 * while leaving; and its runtime API (a UNIX socket) for which servers are up and how many
 * connections each was given.
 */
import { connect } from "node:net";
import type { Link } from "./net.ts";

export interface Backend {
  readonly name: string;
  readonly link: Link;
}

export const ECHO_PORT = 7007;
export const HTTP_PORT = 8080;
export const ADMIN_PORT = 9464;
/** Health checks every 200 ms; 2 failures take a server out, 2 successes put it back. */
const CHECK = "check inter 200ms fall 2 rise 2";

export function haproxyConfig(bind: string, backends: readonly Backend[], socket: string): string {
  const servers = (port: number) =>
    backends
      .map(
        (b) =>
          `  server ${b.name} ${b.link.address}:${port} ${CHECK} addr ${b.link.admin} port ${ADMIN_PORT}`,
      )
      .join("\n");
  return `global
  maxconn 4000
  stats socket ${socket} mode 600 level admin

defaults
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout check 1s
  retries 3
  option redispatch 1
  option httpchk GET /readyz
  http-check expect status 200

frontend echo
  mode tcp
  bind ${bind}:${ECHO_PORT}
  default_backend echo

backend echo
  mode tcp
  balance roundrobin
${servers(ECHO_PORT)}

frontend http
  mode http
  bind ${bind}:${HTTP_PORT}
  default_backend http

backend http
  mode http
  balance roundrobin
  option http-buffer-request
  retry-on conn-failure empty-response response-timeout
${servers(HTTP_PORT)}
`;
}

/** One command to HAProxy's runtime API; its whole answer. */
export function runtime(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(socket, () => c.end(`${command}\n`));
    let text = "";
    c.setEncoding("utf8").on("data", (d: string) => {
      text += d;
    });
    c.on("end", () => resolve(text));
    c.on("error", reject);
  });
}

export interface ServerStat {
  readonly backend: string;
  readonly server: string;
  /** UP, DOWN, MAINT, ... */
  readonly status: string;
  /** Connections (TCP) or sessions (HTTP) it was given in all. */
  readonly total: number;
}

/** `show stat`: every server of every backend. */
export async function stats(socket: string): Promise<ServerStat[]> {
  const [head, ...rows] = (await runtime(socket, "show stat")).trim().split("\n");
  const cols = (head ?? "").replace(/^# /, "").split(",");
  const at = (name: string) => cols.indexOf(name);
  return rows
    .map((r) => r.split(","))
    .filter((f) => f[at("svname")] !== "FRONTEND" && f[at("svname")] !== "BACKEND")
    .map((f) => ({
      backend: f[at("pxname")] as string,
      server: f[at("svname")] as string,
      status: (f[at("status")] as string).split(" ")[0] as string,
      total: Number(f[at("stot")]),
    }));
}

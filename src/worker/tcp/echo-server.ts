/**
 * The connection servers one echo loop runs: TCP echo (TLS when configured) here, and HTTP/1.1
 * with WebSocket at /ws in service.ts (loaded only with --http), each admitting its connections under the loop's limits (connections.ts) and
 * counting what happens in the loop's tally.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { ServeOptions } from "../../messages.ts";
import type { TlsMaterial } from "../../tls.ts";
import type { FaultDefaults } from "../answers/injected.ts";
import type { AccessLog } from "../loop/access-log.ts";
import type { ByteBudget } from "../loop/byte-budget.ts";
import type { Connections } from "../loop/connections.ts";
import type { Faults } from "../loop/faults.ts";
import type { Tally } from "../loop/tally.ts";
import type { Work } from "../work/work.ts";
import { echoHandler } from "./echo.ts";
import { tcpFaults } from "./faulty.ts";

/** What every server of one loop shares. */
export interface Shared {
  readonly tls: TlsMaterial | null;
  readonly work: Work | null;
  readonly worker: number;
  readonly budget: ByteBudget;
  readonly faults: Faults;
  /** --faults, or what POST /faults set since: every HTTP answer's chance of a fault. */
  readonly defaults: FaultDefaults;
  /** --access-log, or null. */
  readonly access: AccessLog | null;
  readonly tally: Tally;
  readonly connections: Connections;
}

/**
 * A failed TLS handshake (also on the HTTPS server), or one not done within
 * --handshake-timeout: counted, and the connection closed (Node only reports a handshake
 * timeout: without this the connection stayed open for good).
 */
export function tlsErrorHandler(
  tally: Tally,
): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === "ERR_TLS_HANDSHAKE_TIMEOUT") tally.limits.handshakeTimeout++;
    else tally.errors.tls++;
    socket.destroy();
  };
}

/**
 * Serve a handed-in socket as if `server` had accepted it: with the server's half-open setting
 * (a TLS socket takes it from the raw one; see Connections.admitted).
 */
export function handOver(server: NetServer, socket: Socket): void {
  socket.allowHalfOpen = (server as NetServer & { allowHalfOpen: boolean }).allowHalfOpen;
  server.emit("connection", socket);
}

/** The TCP echo server (TLS when configured) and its connection handler. */
export function echoServer(o: ServeOptions, s: Shared) {
  const { tls, connections } = s;
  // TLS: a connection is admitted (counted, capped, timed for idleness) as the raw socket on
  // 'connection', before its handshake; the TLS socket it becomes is served as it is.
  const take = tls === null ? connections.admit : connections.admitted;
  const handler = echoHandler(s.work, take, s.tally, tcpFaults(o, s));
  const access = s.access;
  const onEcho =
    access === null
      ? handler
      : (socket: Socket) => {
          access.connection(socket, tls !== null);
          handler(socket);
        };
  if (tls === null) return { server: createNetServer({ allowHalfOpen: true }, onEcho), onEcho };
  // node:tls loaded only when TLS is on: it costs a loop that does not use it ~6 MB.
  const { createServer: createTlsServer } = process.getBuiltinModule("node:tls");
  const server = createTlsServer(
    { ...tls, allowHalfOpen: false, handshakeTimeout: o.handshakeTimeoutMs },
    onEcho,
  );
  server.on("connection", connections.admit);
  server.on("tlsClientError", tlsErrorHandler(s.tally));
  return { server: server as NetServer, onEcho };
}

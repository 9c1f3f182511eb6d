/**
 * Everything one echo loop serves: TCP echo (TLS when configured), HTTP/1.1 + WebSocket echo, and
 * UDP echo, with the same work and limits in the single loop and in every worker. Connections
 * arrive either from the loop's own listeners (listen) or as sockets handed in (accept).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createServer as createTlsServer } from "node:tls";
import { listen } from "../listen.ts";
import type { Logger } from "../log.ts";
import type { Ports, ServeOptions, Service, WorkerStats } from "../messages.ts";
import { loadTls } from "../tls.ts";
import { survivesAcceptErrors } from "./accept-errors.ts";
import { ByteBudget } from "./byte-budget.ts";
import {
  admit,
  admitted,
  bytesMoved,
  drainConnections,
  openConnections,
  refusedConnections,
  servedConnections,
  setLimits,
} from "./connections.ts";
import { echoHandler } from "./echo.ts";
import { Faults } from "./faults.ts";
import { createHttpEcho, type HttpEcho } from "./http.ts";
import { tally, tallyCopy } from "./tally.ts";
import { createUdpEcho, type UdpEcho } from "./udp.ts";
import { attachWebSocketEcho } from "./websocket.ts";
import { createWork } from "./work.ts";

export interface Services {
  /**
   * Bind the listeners asked for (TCP ones only with `tcp`); resolves with the ports bound (0 for
   * one not bound).
   */
  listen(host: string, ports: Ports, how: ListenHow): Promise<Ports>;
  /** Serve a connection accepted elsewhere (handed off by the primary, or spilled). */
  accept(service: Service, socket: Socket): void;
  /** Stop listening, let open connections finish for up to `ms`, close the rest. */
  drain(ms: number): Promise<void>;
  /** What the worker reports when it stops. */
  summary(): Record<string, unknown>;
  /** Counters and the event loop's delay since the last call, for /metrics. */
  stats(): WorkerStats;
}

export interface ListenHow {
  /** Bind the TCP echo and HTTP ports (false: the primary hands their connections in). */
  readonly tcp: boolean;
  /** SO_REUSEPORT on the TCP listeners. */
  readonly reusePort: boolean;
  /** SO_REUSEPORT on the UDP socket: every multi-worker mode spreads datagrams this way. */
  readonly udpReusePort: boolean;
}

/** How often the event loop's delay is sampled. */
const LOOP_DELAY_RESOLUTION_MS = 10;

/** A loop-delay sample in ns, less the sampling interval, in seconds. */
function beyondInterval(ns: number): number {
  return Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS) / 1000;
}

/**
 * A failed TLS handshake (also on the HTTPS server), or one not done within
 * --handshake-timeout: counted, and the connection closed (Node only reports a handshake
 * timeout: without this the connection stayed open for good).
 */
function onTlsError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ERR_TLS_HANDSHAKE_TIMEOUT") tally.limits.handshakeTimeout++;
  else tally.errors.tls++;
  socket.destroy();
}

/**
 * Serve a handed-in socket as if `server` had accepted it: with the server's half-open setting
 * (a TLS socket takes it from the raw one; see connections.ts admitted()).
 */
function handOver(server: NetServer, socket: Socket): void {
  socket.allowHalfOpen = (server as NetServer & { allowHalfOpen: boolean }).allowHalfOpen;
  server.emit("connection", socket);
}

export function createServices(o: ServeOptions, worker: number, log: Logger): Services {
  setLimits({ maxOpen: o.maxConnections, idleMs: o.idleTimeoutMs });
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  const tls = o.tls === null ? null : loadTls(o.tls);
  const work = createWork(o.work, o.offload);
  const faults = new Faults(log);
  const budget = new ByteBudget(o.httpBuffer);
  // TLS: a connection is admitted (counted, capped, timed for idleness) as the raw socket on
  // 'connection', before its handshake; the TLS socket it becomes is served as it is.
  const onEcho = echoHandler(work, tls === null ? admit : admitted);
  const echo: NetServer =
    tls === null
      ? createNetServer({ allowHalfOpen: true }, onEcho)
      : createTlsServer(
          { ...tls, allowHalfOpen: false, handshakeTimeout: o.handshakeTimeoutMs },
          onEcho,
        );
  if (tls !== null) {
    echo.on("connection", admit);
    echo.on("tlsClientError", onTlsError);
  }
  let http: HttpEcho | undefined;
  let udp: UdpEcho | undefined;

  const startHttp = (): HttpEcho => {
    const h = createHttpEcho({
      maxBody: o.maxBody,
      headerTimeoutMs: o.headerTimeoutMs,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      tls,
      work,
      served: { worker, pid: process.pid },
      budget,
      faults,
    });
    h.server.on("connection", admit);
    if (tls !== null) h.server.on("tlsClientError", onTlsError);
    if (o.idleTimeoutMs > 0) {
      // node:http resets a socket's timeout per request (server.timeout) and between requests
      // (keepAliveTimeout): both must honour --idle-timeout.
      h.server.timeout = o.idleTimeoutMs;
      h.server.keepAliveTimeout = Math.min(h.server.keepAliveTimeout, o.idleTimeoutMs);
    }
    const closeWebSockets = attachWebSocketEcho(h.server, {
      maxMessage: o.maxMessage,
      compression: o.wsCompression,
      work,
      faults,
    });
    return {
      server: h.server,
      drain() {
        h.drain();
        // close() also closes idle keep-alive connections.
        h.server.close();
        closeWebSockets();
      },
    };
  };

  return {
    async listen(bindHost, ports, how) {
      const bind = async (server: NetServer, port: number, flag: string) => {
        const bound = await listen(
          server,
          { host: bindHost, port, reusePort: how.reusePort, backlog: o.backlog },
          flag,
        );
        survivesAcceptErrors(server, log);
        return bound;
      };
      let httpPort: number | null = null;
      if (ports.http !== null) {
        http = startHttp();
        if (how.tcp) httpPort = await bind(http.server, ports.http, "--http");
        else {
          // Handed-off connections only: node:http starts the checks behind its header and
          // request timeouts (slowloris) on 'listening', which a server that never listens does
          // not emit.
          http.server.emit("listening");
          httpPort = 0;
        }
      }
      const echoPort = how.tcp ? await bind(echo, ports.echo, "--port") : 0;
      let udpPort: number | null = null;
      if (ports.udp !== null) {
        udp = createUdpEcho(o.udpRate, work, faults);
        udpPort = await udp.bind(bindHost, ports.udp, how.udpReusePort);
      }
      return { echo: echoPort, http: httpPort, udp: udpPort };
    },

    accept(service, socket) {
      if (service === "echo") {
        if (tls === null) onEcho(socket);
        else handOver(echo, socket);
      } else if (http !== undefined) {
        handOver(http.server, socket);
      } else {
        log.warn({ service }, "connection for a service this worker does not run; closing it");
        socket.destroy();
      }
    },

    async drain(ms) {
      echo.close();
      http?.drain();
      udp?.close();
      await drainConnections(ms);
      await work?.close();
    },

    stats() {
      const stats: WorkerStats = {
        open: openConnections(),
        served: servedConnections(),
        refused: refusedConnections(),
        ...bytesMoved(),
        udp: udp === undefined ? null : { ...udp.stats },
        // The histogram is in nanoseconds and each sample includes the sampling interval
        // itself (an idle loop reads 10 ms): the delay is what lies beyond it. Each report
        // covers the time since the last one.
        loopDelayP99: beyondInterval(loopDelay.percentile(99)),
        loopDelayMax: beyondInterval(loopDelay.max),
        ...tallyCopy(),
      };
      loopDelay.reset();
      return stats;
    },

    summary() {
      return {
        served: servedConnections(),
        refused: refusedConnections(),
        ...(udp === undefined ? {} : { udp: udp.stats }),
      };
    },
  };
}

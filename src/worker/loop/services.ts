/**
 * Everything one echo loop serves: TCP echo (TLS when configured), HTTP/1.1 + WebSocket echo, and
 * UDP echo, with the same work and limits in the single loop and in every worker. Connections
 * arrive either from the loop's own listeners (listen) or as sockets handed in (accept).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { FaultSpecError } from "../../fault-spec.ts";
import { listen } from "../../listen.ts";
import type { Logger } from "../../log.ts";
import type { Ports, ServeOptions, Service, WorkerStats } from "../../messages.ts";
import { trustOf } from "../../proxy-trust.ts";
import { loadTls } from "../../tls.ts";
import { FaultDefaults } from "../answers/injected.ts";
import type { HttpService } from "../http/service.ts";
import { proxyGate } from "../proxy/gate.ts";
import { echoServer, handOver, type Shared } from "../tcp/echo-server.ts";
import type { UdpEcho } from "../udp/echo.ts";
import { createWork } from "../work/work.ts";
import { survivesAcceptErrors } from "./accept-errors.ts";
import { AccessLog } from "./access-log.ts";
import { ByteBudget } from "./byte-budget.ts";
import { Connections } from "./connections.ts";
import { Faults } from "./faults.ts";
import { LoopDelay } from "./loop-delay.ts";
import { Tally } from "./tally.ts";

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
  /** Connections open now (least-connections balancing reads it). */
  open(): number;
  /** Call `then` once fewer than `limit` connections are open; returns a cancel. */
  whenOpenBelow(limit: number, then: () => void): () => void;
  /** Count an accept error on a listener the worker was lent (spill). */
  acceptError(): void;
  /** Counters and the event loop's delay since the last call, for /metrics. */
  stats(): WorkerStats;
  /** New --faults for every HTTP answer (POST /faults on the admin port), or null for none. */
  setFaults(text: string | null): void;
}

export interface ListenHow {
  /** Bind the TCP echo and HTTP ports (false: the primary hands their connections in). */
  readonly tcp: boolean;
  /** SO_REUSEPORT on the TCP listeners. */
  readonly reusePort: boolean;
  /** SO_REUSEPORT on the UDP socket: every multi-worker mode spreads datagrams this way. */
  readonly udpReusePort: boolean;
}

export function createServices(o: ServeOptions, worker: number, log: Logger): Services {
  return new LoopServices(o, worker, log);
}

class LoopServices implements Services {
  readonly #o: ServeOptions;
  readonly #log: Logger;
  readonly #shared: Shared;
  readonly #echo: NetServer;
  readonly #onEcho: (socket: Socket) => void;
  /** --proxy-protocol on: what reads the PROXY header before a connection reaches its service. */
  readonly #gate: ((socket: Socket, next: (socket: Socket) => void) => void) | null;
  readonly #loopDelay = new LoopDelay();
  #http: HttpService | undefined;
  #httpFront: NetServer | undefined;
  /** What listens for TCP echo: the echo server, or the PROXY gate's server in front of it. */
  readonly #echoFront: NetServer;
  #udp: UdpEcho | undefined;

  constructor(o: ServeOptions, worker: number, log: Logger) {
    this.#o = o;
    this.#log = log;
    const tls = o.tls === null ? null : loadTls(o.tls);
    const work = createWork(o.work, o.offload);
    const tally = new Tally();
    const faults = new Faults(log, tally);
    const connections = new Connections(
      { maxOpen: o.maxConnections, idleMs: o.idleTimeoutMs },
      tally,
    );
    const budget = new ByteBudget(o.httpBuffer);
    const defaults = new FaultDefaults(o.faults, o.maxDelayMs);
    const access =
      o.accessLog === null
        ? null
        : new AccessLog(o.accessLog, o.accessLogIgnore, worker, tally.accessLog);
    this.#shared = { tls, work, worker, faults, defaults, access, tally, connections, budget };
    const echo = echoServer(o, this.#shared);
    this.#echo = echo.server;
    this.#onEcho = echo.onEcho;
    this.#gate = o.proxyProtocol
      ? proxyGate({
          timeoutMs: o.handshakeTimeoutMs,
          tally,
          tls: tls !== null,
          trusted: trustOf(o.proxyTrusted),
          admit: connections.admit,
        })
      : null;
    this.#echoFront = this.#front(this.#toEcho, this.#echo);
  }

  /** What listens for `serve`'s connections: a server of its own in front when PROXY is on. */
  #front(serve: (socket: Socket) => void, server: NetServer): NetServer {
    const gate = this.#gate;
    if (gate === null) return server;
    return createNetServer({ allowHalfOpen: true }, (socket) => gate(socket, serve));
  }

  #toEcho = (socket: Socket): void => {
    if (this.#shared.tls === null) this.#onEcho(socket);
    else handOver(this.#echo, socket);
  };

  #toHttp = (socket: Socket): void => {
    if (this.#http !== undefined) handOver(this.#http.front, socket);
    else socket.destroy();
  };

  async listen(host: string, ports: Ports, how: ListenHow): Promise<Ports> {
    const bind = async (server: NetServer, port: number, flag: string) => {
      const options = { host, port, reusePort: how.reusePort, backlog: this.#o.backlog };
      const bound = await listen(server, options, flag);
      survivesAcceptErrors(server, this.#log, this.#shared.tally);
      return bound;
    };
    let httpPort: number | null = null;
    if (ports.http !== null) {
      const { httpService } = await import("../http/service.ts"); // with ws, only when --http is on
      const http = httpService(this.#o, this.#shared);
      this.#http = http;
      this.#httpFront = this.#front(this.#toHttp, http.front);
      httpPort = how.tcp ? await bind(this.#httpFront, ports.http, "--http") : 0;
      // node:http starts the checks behind its header and request timeouts (slowloris) on
      // 'listening', which it does not emit when it is not what listens (handed-off
      // connections, or the fast path in front of it).
      if (http.front !== http.server) http.server.emit("listening");
      else if (!how.tcp) http.server.emit("listening");
    }
    const echoPort = how.tcp ? await bind(this.#echoFront, ports.echo, "--port") : 0;
    let udpPort: number | null = null;
    if (ports.udp !== null) {
      const { UdpEcho } = await import("../udp/echo.ts"); // with node:dgram, only when --udp is on
      const { udpFaults } = await import("../udp/faulty.ts");
      const sh = this.#shared;
      const o = this.#o;
      const trusted = o.udpTrusted === "none" ? null : trustOf(o.udpTrusted);
      this.#udp = new UdpEcho(o.udpRate, sh.work, sh.faults, udpFaults(o, sh), trusted);
      udpPort = await this.#udp.bind(host, ports.udp, how.udpReusePort);
    }
    return { echo: echoPort, http: httpPort, udp: udpPort };
  }

  accept(service: Service, socket: Socket): void {
    if (service === "echo") {
      if (this.#gate === null) this.#toEcho(socket);
      else this.#gate(socket, this.#toEcho);
    } else if (this.#http !== undefined) {
      if (this.#gate === null) this.#toHttp(socket);
      else this.#gate(socket, this.#toHttp);
    } else {
      this.#log.warn({ service }, "connection for a service this worker does not run; closing it");
      socket.destroy();
    }
  }

  async drain(ms: number): Promise<void> {
    this.#echo.close();
    if (this.#echoFront !== this.#echo) this.#echoFront.close();
    if (this.#httpFront !== this.#http?.front) this.#httpFront?.close();
    this.#http?.drain();
    this.#udp?.close();
    await this.#shared.connections.drain(ms);
    await this.#shared.work?.close();
    await this.#shared.access?.flush();
    this.#loopDelay.stop();
  }

  setFaults(text: string | null): void {
    try {
      this.#shared.defaults.set(text);
      this.#log.info({ faults: text }, "faults for every HTTP answer changed");
    } catch (err) {
      // The primary checked it against the same grammar: a mismatch is a bug, not a reason to die.
      if (!(err instanceof FaultSpecError)) throw err;
      this.#log.warn({ faults: text, err: err.message }, "faults refused; the old ones stay");
    }
  }

  stats(): WorkerStats {
    const delay = this.#loopDelay.latest;
    const c = this.#shared.connections;
    const stats: WorkerStats = {
      open: c.open,
      served: c.served,
      refused: c.refused,
      ...c.bytesMoved(),
      udp: this.#udp === undefined ? null : { ...this.#udp.stats },
      // Over the last whole second (loop-delay.ts).
      loopDelayP99: delay.p99,
      loopDelayMax: delay.max,
      ...this.#shared.tally.copy(),
    };
    return stats;
  }

  open(): number {
    return this.#shared.connections.open;
  }

  whenOpenBelow(limit: number, then: () => void): () => void {
    return this.#shared.connections.whenBelow(limit, then);
  }

  acceptError(): void {
    this.#shared.tally.errors.accept++;
  }

  summary(): Record<string, unknown> {
    const udp = this.#udp;
    return {
      served: this.#shared.connections.served,
      refused: this.#shared.connections.refused,
      ...(udp === undefined ? {} : { udp: udp.stats }),
    };
  }
}

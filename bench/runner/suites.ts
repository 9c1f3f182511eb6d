/**
 * The http, websocket, work and churn-work suites of the bench (the echo suite is built from the --modes flags).
 *
 * http: echoplex's HTTP echo (single loop) against node:http echoes written the obvious way,
 * each one process, 64-byte POST bodies over 50 keep-alive connections, driven by autocannon;
 * and echoplex's HTTP/2 (h2c) echo, driven by our load client (src/load).
 *
 * websocket: echoplex's WebSocket echo against its TCP echo, in the same server.
 *
 * work: a steady TCP echo where every message costs ~50 µs of CPU (SHA-256 rounds, calibrated
 * on this machine when the bench starts): the single loop doing it inline (the baseline), the
 * single loop offloading it to a piscina pool with a thread per core, handoff with a worker per
 * core doing it inline, and handoff with one pool thread per worker.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { sha256Rounds } from "../../src/worker/work/digest.ts";
import { median } from "../lib/stats.ts";
import { type Section, scenario, type Variant } from "./plan.ts";

const MINIMAL_HTTP = fileURLToPath(new URL("../servers/minimal-http.ts", import.meta.url));

function minimal(style: "collect" | "pipe" | "h2c"): Variant {
  const h2c = style === "h2c";
  return {
    id: h2c ? "node:http2 minimal (h2c)" : `node:http minimal (${style})`,
    mode: h2c ? "node:http2" : "node:http",
    workers: 1,
    flags: [],
    program: { path: MINIMAL_HTTP, args: ["--style", style] },
    ...(h2c ? { protocol: "http2" as const } : {}),
  };
}

/**
 * http: 64 B bodies (issue 13's bar: the fast path against node:http written the obvious way),
 * 16 KiB bodies (node:http's path: over the fast path's 4 KiB), and 64 B pipelined 16 deep.
 */
export function httpSection(): Section {
  const steady = scenario("steady", 64, 50, "http", "http ");
  return {
    suite: "http",
    baseline: minimal("collect"),
    variants: [
      { id: "echoplex single", mode: "single", workers: 1, flags: [] },
      {
        id: "echoplex single, fast path off",
        mode: "single",
        workers: 1,
        flags: ["--http-fast-path", "off"],
      },
      // HTTP/2 with prior knowledge, by the load client's own client (autocannon and wrk speak
      // HTTP/1.1 only); pipelined means that many streams in flight on each connection.
      {
        id: "echoplex single, HTTP/2 (h2c)",
        mode: "single",
        workers: 1,
        flags: ["--http2", "on"],
        protocol: "http2",
      },
      minimal("pipe"),
      // The obvious node:http2 echo, the peer of echoplex's h2c (issue 27), by the same client.
      minimal("h2c"),
    ],
    scenarios: [
      steady,
      scenario("steady", 16 * 1024, 50, "http", "http "),
      { ...steady, id: `http pipelined x16 ${steady.id.slice(5)}`, pipeline: 16 },
    ],
    serverFlags: [],
  };
}

/**
 * websocket: echoplex's WebSocket echo (binary frames, with its fast path and without) against
 * its own TCP echo, one server and one client for all: 64 B (issue 13's bar: ≥ 0.9× TCP echo's
 * messages per second) and 16 KiB messages, 50 connections, single loop. Both protocols are
 * loaded by our load client (src/load), so only the protocol differs.
 */
export function websocketSection(): Section {
  const single = { mode: "single", workers: 1 };
  return {
    suite: "websocket",
    baseline: { ...single, id: "TCP echo", flags: [] },
    variants: [
      { ...single, id: "WebSocket", flags: [], protocol: "ws" },
      {
        ...single,
        id: "WebSocket, fast path off",
        flags: ["--http-fast-path", "off"],
        protocol: "ws",
      },
    ],
    scenarios: [scenario("steady", 64, 50), scenario("steady", 16 * 1024, 50)].map((s) => ({
      ...s,
      id: `ws vs tcp ${s.id}`,
    })),
    // The TCP echo's server has the HTTP port too: the servers differ in nothing.
    serverFlags: ["--http", "0"],
    ownClient: true,
  };
}

/** The target CPU cost of one message's work, in µs. */
export const WORK_US = 50;

/** Rounds of SHA-256 on a 64-byte message that take about `us` µs here, and what they take. */
export function calibrateWork(us = WORK_US): { rounds: number; usPerMessage: number } {
  const data = randomBytes(64);
  const time = (rounds: number, reps: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) sha256Rounds(data, rounds);
    return Number(process.hrtime.bigint() - t0) / 1e3 / reps;
  };
  time(1000, 5); // warm up
  // Start from the cost of a round in a long chain, then correct twice with whole messages
  // (the first round hashes 64 bytes, the rest 32; a message has per-call overheads).
  let rounds = Math.max(1, Math.round(us / (median([1, 2, 3].map(() => time(1000, 3))) / 1000)));
  let usPerMessage = 0;
  for (let i = 0; i < 3; i++) {
    usPerMessage = median([1, 2, 3, 4, 5].map(() => time(rounds, 200)));
    if (i < 2) rounds = Math.max(1, Math.round((rounds * us) / usPerMessage));
  }
  return { rounds, usPerMessage: Math.round(usPerMessage * 10) / 10 };
}

export function workSection(cores: number): Section {
  const { rounds, usPerMessage } = calibrateWork();
  const variant = (id: string, mode: string, workers: number, offload: number): Variant => ({
    id,
    mode,
    workers,
    flags: offload > 0 ? [`--offload=${offload}`] : [],
  });
  return {
    suite: "work",
    baseline: variant("single", "single", 1, 0),
    variants: [
      variant(`single + offload ${cores}`, "single", 1, cores),
      variant(`handoff x${cores}`, "handoff", cores, 0),
      variant(`handoff x${cores} + offload 1`, "handoff", cores, 1),
    ],
    scenarios: [scenario("steady", 64, 50, "tcp", `work ~${WORK_US} µs `)],
    serverFlags: ["--work", `sha256:${rounds}`],
    note: { rounds, us_per_message: usPerMessage },
  };
}

/** The CPU one churned connection's message costs in the churn-work suite, in µs. */
export const CHURN_WORK_US = 100;

/**
 * churn-work: connect, one 64-byte message that costs ~100 µs of CPU, close, from 50 loops: the
 * modes that spread connections over a worker per core, against the single loop. Connections
 * that carry real work are where a dispatcher that keeps one worker busy shows (issue 12).
 */
export function churnWorkSection(cores: number): Section {
  const { rounds, usPerMessage } = calibrateWork(CHURN_WORK_US);
  const variant = (mode: string): Variant => ({
    id: `${mode} x${cores}`,
    mode,
    workers: cores,
    flags: [],
  });
  const churn = scenario("churn", 64, 50);
  return {
    suite: "churn-work",
    baseline: { id: "single", mode: "single", workers: 1, flags: [] },
    variants: [variant("handoff"), variant("reuseport"), variant("cluster-shared")],
    scenarios: [{ ...churn, id: `${churn.id}, ~${CHURN_WORK_US} µs of work each` }],
    serverFlags: ["--work", `sha256:${rounds}`],
    note: { rounds, us_per_message: usPerMessage },
  };
}

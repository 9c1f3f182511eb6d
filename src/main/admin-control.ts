/**
 * What the admin port lets a caller change while the server runs, for a test that turns a
 * backend bad and good again behind a load balancer: `POST /readyz/disable` and
 * `/readyz/enable` make /readyz answer 503 / 200 (echo goes on either way), `POST /faults` sets
 * --faults for every HTTP answer (`off` for none), `GET /faults` says what is set. Each POST
 * needs `Authorization: Bearer TOKEN` with --admin-token's TOKEN (401 otherwise); without
 * --admin-token nothing here changes the server (403).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { FaultSpecError, parseFaults } from "../fault-spec.ts";
import type { Logger } from "../log.ts";

/** The longest POST /faults body read. */
const MAX_BODY = 4096;

export type Reply = (res: ServerResponse, status: number, body: Record<string, unknown>) => void;

export interface AdminControlOptions {
  readonly token: string | null;
  readonly faults: string | null;
  readonly maxDelayMs: number;
  /** Send new faults to every loop (checked already; "off" for none). */
  readonly apply: (faults: string) => void;
  readonly log: Logger;
}

// Compared as digests of equal length, in constant time: the reply's timing says nothing of
// how much of a guess was right.
const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

export class AdminControl {
  #disabled = false;
  #faults: string | null;
  readonly #token: Buffer | null;
  readonly #o: AdminControlOptions;

  constructor(o: AdminControlOptions) {
    this.#o = o;
    this.#faults = o.faults;
    this.#token = o.token === null ? null : digest(o.token);
  }

  /** /readyz/disable was the last word: /readyz says 503. */
  get disabled(): boolean {
    return this.#disabled;
  }

  /** Answers `path` if it is one of ours; false if not. */
  handle(path: string, req: IncomingMessage, res: ServerResponse, reply: Reply): boolean {
    if (path === "/faults" && req.method === "GET") {
      reply(res, 200, { faults: this.#faults });
      return true;
    }
    const flip = path === "/readyz/disable" || path === "/readyz/enable";
    if (!flip && path !== "/faults") return false;
    if (req.method !== "POST") {
      res.setHeader("allow", path === "/faults" ? "GET, POST" : "POST");
      reply(res, 405, { error: `${req.method} ${path}: use POST` });
    } else if (this.#token === null) {
      reply(res, 403, {
        error: "the admin port changes nothing without --admin-token (ECHOPLEX_ADMIN_TOKEN)",
      });
    } else if (!this.#authorized(req.headers.authorization)) {
      res.setHeader("www-authenticate", 'Bearer realm="echoplex"');
      reply(res, 401, { error: "needs Authorization: Bearer TOKEN (--admin-token)" });
    } else if (flip) {
      this.#disabled = path === "/readyz/disable";
      this.#o.log.info({ disabled: this.#disabled }, `readiness set by POST ${path}`);
      reply(res, 200, { disabled: this.#disabled });
    } else this.#readFaults(req, res, reply);
    return true;
  }

  #authorized(header: string | undefined): boolean {
    const m = /^Bearer ([\x21-\x7e]+)$/i.exec(header ?? "");
    return m !== null && timingSafeEqual(digest(m[1] as string), this.#token as Buffer);
  }

  #readFaults(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on("error", () => res.destroy());
    req.on("end", () => {
      if (size > MAX_BODY) {
        reply(res, 413, { error: `a --faults text is at most ${MAX_BODY} bytes` });
        return;
      }
      this.#setFaults(Buffer.concat(chunks).toString("utf8").trim(), res, reply);
    });
  }

  #setFaults(text: string, res: ServerResponse, reply: Reply): void {
    const faults = text === "off" || text === "" ? null : text;
    try {
      if (faults !== null) parseFaults(faults, this.#o.maxDelayMs);
    } catch (err) {
      if (!(err instanceof FaultSpecError)) throw err;
      reply(res, 400, { error: `--faults ${faults}: ${err.message}` });
      return;
    }
    this.#faults = faults;
    this.#o.apply(faults ?? "off");
    this.#o.log.info({ faults }, "faults for every HTTP answer set by POST /faults");
    reply(res, 200, { faults });
  }
}

/**
 * Every error echoplex reports on purpose carries a stable code from the table below, with its
 * message template, exit status and docs line.
 */

/** One error code: how the commands exit on it, its message template, and its docs line. */
interface ErrorSpec<P> {
  /** The commands' exit status (2: a usage error, the library's own included). */
  readonly exit: 1 | 2;
  readonly message: (p: P) => string;
  /** docs/errors.md: what happened, and what to do. */
  readonly meaning: string;
  readonly todo: string;
}
const spec = <P>(s: ErrorSpec<P>): ErrorSpec<P> => s;

/** What is wrong with what, and what to do about it: the shape of the usage errors' lines. */
interface Usage {
  /** What the line is about: a flag and its value, a file, a library call. */
  readonly subject: string;
  /** What is wrong, and what to do (after a colon or a semicolon). */
  readonly problem: string;
}
const usage = (p: Usage): string => `${p.subject}: ${p.problem}`;

/** Where a listener was asked to bind: the flag that chose the port, and host:port. */
interface Bind {
  readonly flag: string;
  readonly where: string;
}

/**
 * Every error echoplex reports on purpose, once. Tests assert codes, never message text;
 * docs/errors.md is generated from this table (npm run docs) and a test keeps it so.
 */
export const ERRORS = {
  ECHOPLEX_BAD_FLAG: spec({
    exit: 2,
    message: usage,
    meaning:
      "a flag or `ECHOPLEX_*` variable has a value that is not allowed, or flags that do not go together; the line names it and what is allowed",
    todo: "fix the value",
  }),
  ECHOPLEX_UNKNOWN_FLAG: spec({
    exit: 2,
    message: (p: { flag: string; known: string }) => `${p.flag}; ${p.known}`,
    meaning: "a flag (or a stray argument) echoplex does not know",
    todo: "see `echoplex --help` (`echoplex-load --help`)",
  }),
  ECHOPLEX_BAD_OPTION: spec({
    exit: 2,
    message: usage,
    meaning:
      "the library: an option of `start()`, `stop()` or `load()` is unknown or has a value that is not allowed (the message names the call, the option and what is allowed), or cannot be honoured in this process (`cluster` and `cluster-shared` in one process: node:cluster fixes its scheduling at the first fork)",
    todo: "fix the option; TypeScript refuses most of these at compile time",
  }),
  ECHOPLEX_BAD_CONFIG: spec({
    exit: 2,
    message: (p: { file: string; problem: string }) => `--config ${p.file}: ${p.problem}`,
    meaning:
      "`--config FILE` cannot be read, is not a JSON object, has an unknown key, or a value of the wrong type or out of range (the line names the file, the key and what is allowed)",
    todo: "fix the file; `--print-config` prints a valid one",
  }),
  ECHOPLEX_BAD_TLS: spec({
    exit: 2,
    message: usage,
    meaning:
      "`--tls-cert`/`--tls-key`/`--tls-ca` cannot be read, is not PEM, or the key does not match the certificate (the line says which)",
    todo: "fix the files; give both `--tls-cert` and `--tls-key` or neither",
  }),
  ECHOPLEX_PORT_IN_USE: spec({
    exit: 1,
    message: (p: Bind) =>
      `${p.flag} ${p.where} is already in use: stop the other process or choose another ${p.flag} (0 picks a free one)`,
    meaning:
      "the address is taken by another process; the line names the flag that chose it (`--port`, `--http` or `--udp`)",
    todo: "stop it, or pick another port for that flag (0 picks a free one)",
  }),
  ECHOPLEX_PERMISSION_DENIED: spec({
    exit: 1,
    message: (p: Bind) =>
      `permission denied binding ${p.flag} ${p.where}: use a port of 1024 or above, or grant CAP_NET_BIND_SERVICE`,
    meaning: "the process may not bind that port",
    todo: "use a port ≥ 1024, or grant `CAP_NET_BIND_SERVICE`",
  }),
  ECHOPLEX_BAD_ADDRESS: spec({
    exit: 1,
    message: (p: Bind) =>
      `cannot bind ${p.flag} ${p.where}: --host must be an address of this machine`,
    meaning: "`--host` is not an address of this machine",
    todo: "use one of its addresses, `127.0.0.1`, or `0.0.0.0`",
  }),
  ECHOPLEX_WORKER_FAILED: spec({
    exit: 1,
    message: (p: { worker: number; why: string }) => `worker ${p.worker} ${p.why}`,
    meaning: "a worker exited before it was ready, or was not ready within `--start-timeout`",
    todo: "read the worker's log lines above it",
  }),
  ECHOPLEX_CRASH_LOOP: spec({
    exit: 1,
    message: (p: { what: string; crashes: number; windowS: number }) =>
      `${p.what} failed to start ${p.crashes} times within ${p.windowS} s; stopping instead of starting them again (read the log lines above for why)`,
    meaning:
      "replacement workers failed to start 5 times within 60 s (workers that crash after serving are replaced for ever and never count); the server stopped",
    todo: "read the workers' log lines before it: a certificate or key gone bad on disk, a resource limit, a worker not ready within `--start-timeout`",
  }),
  ECHOPLEX_UNSUPPORTED: spec({
    exit: 1,
    message: (p: { flag: string }) =>
      `${p.flag}: the listener is not bound to a TCP port after listen; report this platform`,
    meaning:
      "a listener was not bound to a TCP port after `listen` succeeded: the platform did not do what was asked",
    todo: "run on Linux (`reuseport` and `threads` need `SO_REUSEPORT`); report the platform otherwise",
  }),
  ECHOPLEX_UNSUPPORTED_NODE: spec({
    exit: 1,
    message: (p: { what: string; needs: string; node: string; todo: string }) =>
      `${p.what} needs ${p.needs}; this is Node ${p.node}: ${p.todo}`,
    meaning:
      "the Node running echoplex is older than 24.11, Node 24's first LTS (`engines`; the commands and the library check at start), or `--mode handoff` found a Node internal it drives missing at start: a listening server's raw handle (`server._handle.onconnection`) or child_process's handle acknowledgements (`NODE_HANDLE_ACK`)",
    todo: "run on Node 24.11 or later (as tested), or use another mode (`reuseport`, `cluster`)",
  }),
  ECHOPLEX_CONNECT_FAILED: spec({
    exit: 1,
    message: (p: { target: string; why: string }) => `no echo from ${p.target}: ${p.why}`,
    meaning:
      "`npm run load`: not one connection to the target succeeded, or every one was closed before its first echo; with `--protocol ws`, the target did not answer the upgrade to `/ws` with 101",
    todo: "check that the server runs and `--host`/`--port` (for ws: echoplex's `--http` port), and `--tls` if it is a TLS port",
  }),
  ECHOPLEX_TLS_FAILED: spec({
    exit: 1,
    message: (p: { target: string; reason: string }) =>
      `TLS to ${p.target} failed (${p.reason}): for a self-signed certificate add --insecure, for a private CA set NODE_EXTRA_CA_CERTS=FILE; without TLS there, drop --tls`,
    meaning:
      "`npm run load --tls`: the TLS handshake failed — the server's certificate did not verify (self-signed, another name, an unknown CA), or the target does not speak TLS",
    todo: "`--insecure` for a self-signed certificate, `NODE_EXTRA_CA_CERTS=FILE` for a private CA; no `--tls` for a plain port",
  }),
  ECHOPLEX_ECHO_MISMATCH: spec({
    exit: 1,
    message: (p: { streams: number }) => `${p.streams} echoed streams differed from what was sent`,
    meaning:
      "`npm run load`: the target sent back bytes that differ from those sent (the report is printed first)",
    todo: "the target (or something between) corrupts data",
  }),
  ECHOPLEX_SLO_BROKEN: spec({
    exit: 1,
    message: (p: { slo: string; breaches: string }) =>
      `the run broke the SLO ${p.slo}: ${p.breaches}`,
    meaning:
      "`echoplex-load merge --slo`: the merged run missed an objective (the report is printed first)",
    todo: "a slower or failing target, or too much load for it: find its capacity, or relax the SLO",
  }),
} as const;

export type ErrorCode = keyof typeof ERRORS;
type Params<C extends ErrorCode> = Parameters<(typeof ERRORS)[C]["message"]>[0];

/** Each code and what it means (public: the package exports it). */
export const ERROR_CODES = Object.fromEntries(
  Object.entries(ERRORS).map(([code, e]) => [code, e.meaning]),
) as Readonly<Record<ErrorCode, string>>;

export class EchoplexError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EchoplexError";
    this.code = code;
  }
}

/** The error for `code`, its message made from the table's template. */
export function fail<C extends ErrorCode>(
  code: C,
  params: Params<C>,
  cause?: unknown,
): EchoplexError {
  const message = (ERRORS[code].message as (p: Params<C>) => string)(params);
  return new EchoplexError(code, message, cause === undefined ? undefined : { cause });
}

/** Usage errors: exit 2, everything else 1 (see src/main/cli.ts). */
export const USAGE_ERRORS: ReadonlySet<ErrorCode> = new Set(
  (Object.keys(ERRORS) as ErrorCode[]).filter((code) => ERRORS[code].exit === 2),
);

/**
 * node:util parseArgs's error as ours: an unknown flag or a stray argument (`known` says what
 * to use instead), or a flag without its value or with one it does not take.
 */
export function argsError(err: NodeJS.ErrnoException, known: string): EchoplexError {
  const line = (err.message.split("\n")[0] ?? "bad arguments").replace(/\. .*$/, "");
  if (err.code !== "ERR_PARSE_ARGS_INVALID_OPTION_VALUE")
    return fail("ECHOPLEX_UNKNOWN_FLAG", { flag: line, known });
  const m = /^Option '([^' ]+)[^']*' (.*)$/.exec(line);
  if (m === null) return fail("ECHOPLEX_BAD_FLAG", { subject: "arguments", problem: line });
  return fail("ECHOPLEX_BAD_FLAG", { subject: m[1] as string, problem: m[2] as string });
}

/**
 * A library call's usage error: the flag's own (a bad value, an unknown name) said again as
 * ECHOPLEX_BAD_OPTION, under `call` ("start()", "load()"); any other error as it is.
 */
export function asOptionError(err: unknown, call: string): unknown {
  if (!(err instanceof EchoplexError)) return err;
  if (err.code !== "ECHOPLEX_BAD_FLAG" && err.code !== "ECHOPLEX_UNKNOWN_FLAG") return err;
  const message = err.message.startsWith(call) ? err.message : `${call}: ${err.message}`;
  return new EchoplexError("ECHOPLEX_BAD_OPTION", message, { cause: err });
}

/** docs/errors.md, as the table says it (npm run docs writes it; a test keeps it equal). */
export function errorsMarkdown(): string {
  const cell = (s: string) => s.replaceAll("|", "\\|");
  const rows = Object.entries(ERRORS).map(
    ([code, e]) => `| \`${code}\` | ${e.exit} | ${cell(e.meaning)} | ${cell(e.todo)} |`,
  );
  return [
    "# Error codes",
    "",
    "Every failure echoplex reports on purpose prints one line on stderr, `echoplex: <what happened and what to do> [<code>]` (the load client prints `echoplex-load:` first), and exits with the status below; the library throws an `EchoplexError` with the code. Codes are stable; match on them, not on the text.",
    "",
    "Generated from `src/errors.ts` by `npm run docs`; a test keeps it current.",
    "",
    "| code | exit | meaning | what to do |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}

/** Turns a failed bind/listen of the port set by `flag` into an error that says what to do. */
export function listenError(
  err: NodeJS.ErrnoException,
  host: string,
  port: number,
  flag = "--port",
): Error {
  const bind = { flag, where: `${host}:${port}` };
  switch (err.code) {
    case "EADDRINUSE":
      return fail("ECHOPLEX_PORT_IN_USE", bind, err);
    case "EACCES":
    case "EPERM":
      return fail("ECHOPLEX_PERMISSION_DENIED", bind, err);
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return fail("ECHOPLEX_BAD_ADDRESS", bind, err);
    default:
      return err;
  }
}

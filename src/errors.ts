/**
 * Every error echoplex reports on purpose carries a stable code. The CLI maps codes to exit
 * statuses in one place; tests assert codes, never message text. docs/errors.md lists them all.
 */
export const ERROR_CODES = {
  ECHOPLEX_BAD_FLAG: "a flag or ECHOPLEX_* variable has a value that is not allowed",
  ECHOPLEX_UNKNOWN_FLAG: "a flag that echoplex does not know",
  ECHOPLEX_BAD_OPTION:
    "a library call's option (start(), stop(), load()) is unknown or has a value that is not allowed, or cannot be honoured in this process",
  ECHOPLEX_BAD_CONFIG:
    "--config FILE cannot be read, is not a JSON object, or has an unknown key or a bad value",
  ECHOPLEX_BAD_TLS:
    "--tls-cert or --tls-key cannot be read, or is not a PEM certificate and matching key",
  ECHOPLEX_PORT_IN_USE: "the address is already taken by another process",
  ECHOPLEX_PERMISSION_DENIED:
    "the process may not bind that address (ports below 1024 need privileges)",
  ECHOPLEX_BAD_ADDRESS: "the host is not an address of this machine",
  ECHOPLEX_WORKER_FAILED: "a worker could not start",
  ECHOPLEX_CRASH_LOOP:
    "replacement workers kept failing to start (a certificate gone bad, say); the server stopped",
  ECHOPLEX_UNSUPPORTED:
    "a listener was not bound to a TCP port after listen (the platform did not do what was asked)",
  ECHOPLEX_UNSUPPORTED_NODE:
    "this Node is older than echoplex's lowest (24), or lacks the internals --mode handoff drives (a server's raw handle, child_process's handle ACKs)",
  ECHOPLEX_CONNECT_FAILED: "the load client could not make a single connection to the target",
  ECHOPLEX_TLS_FAILED:
    "the load client's TLS handshake failed: the server's certificate did not verify, or the target does not speak TLS",
  ECHOPLEX_ECHO_MISMATCH: "the load client got back bytes that differ from the bytes it sent",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

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

/** Usage errors exit 2, everything else 1 (see src/main/cli.ts). */
export const USAGE_ERRORS: ReadonlySet<ErrorCode> = new Set([
  "ECHOPLEX_BAD_FLAG",
  "ECHOPLEX_UNKNOWN_FLAG",
  "ECHOPLEX_BAD_OPTION",
  "ECHOPLEX_BAD_TLS",
  "ECHOPLEX_BAD_CONFIG",
]);

export class EchoplexError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EchoplexError";
    this.code = code;
  }
}

/** Turns a failed bind/listen of the port set by `flag` into an error that says what to do. */
export function listenError(
  err: NodeJS.ErrnoException,
  host: string,
  port: number,
  flag = "--port",
): Error {
  const where = `${flag} ${host}:${port}`;
  switch (err.code) {
    case "EADDRINUSE":
      return new EchoplexError(
        "ECHOPLEX_PORT_IN_USE",
        `${where} is already in use: stop the other process or choose another ${flag} (0 picks a free one)`,
        { cause: err },
      );
    case "EACCES":
    case "EPERM":
      return new EchoplexError(
        "ECHOPLEX_PERMISSION_DENIED",
        `permission denied binding ${where}: use a port of 1024 or above, or grant CAP_NET_BIND_SERVICE`,
        { cause: err },
      );
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new EchoplexError(
        "ECHOPLEX_BAD_ADDRESS",
        `cannot bind ${where}: --host must be an address of this machine`,
        { cause: err },
      );
    default:
      return err;
  }
}

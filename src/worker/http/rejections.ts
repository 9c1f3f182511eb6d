/**
 * Requests node:http itself rejects (llhttp parse errors, oversized or slow headers): counted,
 * then answered as node:http's default would (lib/_http_server.js) and closed — a malformed one
 * only once the answers owed to the requests before it are out (owed.ts).
 */
import type { Duplex } from "node:stream";
import type { Tally } from "../loop/tally.ts";
import { afterOwed } from "./owed.ts";

/** node:http's own answers to a bad request, by error code; else 400. */
const CLIENT_ERROR_REPLY: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: "431 Request Header Fields Too Large",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "413 Payload Too Large",
  ERR_HTTP_REQUEST_TIMEOUT: "408 Request Timeout",
};

/**
 * A listener replaces node:http's default handling, so this counts the error (in `tally`) and
 * then does what the default does: answer unless a response has started on this socket, and
 * close.
 */
export function clientErrorHandler(
  tally: Tally,
): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => onClientError(tally, err, socket);
}

function onClientError(tally: Tally, err: NodeJS.ErrnoException, socket: Duplex): void {
  const code = err.code ?? "";
  if (code === "ECONNRESET" || code === "EPIPE") tally.errors.connection++;
  // node:http says ERR_HTTP_REQUEST_TIMEOUT for both its timeouts: a request whose head was
  // read (the parser holds it) ran out of --request-timeout, else of --header-timeout.
  else if (code === "ERR_HTTP_REQUEST_TIMEOUT") {
    const parser = (socket as { parser?: { incoming?: unknown } | null }).parser;
    if (parser?.incoming) tally.limits.requestTimeout++;
    else tally.limits.headerTimeout++;
  } else tally.errors.http++;
  const reject = () => {
    if (socket.writable && !answering(socket)) {
      socket.write(
        `HTTP/1.1 ${CLIENT_ERROR_REPLY[code] ?? "400 Bad Request"}\r\nConnection: close\r\n\r\n`,
      );
    }
    socket.destroy(err);
  };
  // A reset or a timeout closes at once; a malformed request waits for the owed answers.
  if (code.startsWith("HPE_")) afterOwed(socket, reject);
  else reject();
}

/** A response node:http has started on this socket: no answer may go over it. */
interface InFlight {
  _headerSent?: boolean;
  writableEnded?: boolean;
  /** It closes the connection once written (`Connection: close`). */
  _last?: boolean;
}

/**
 * node:http's rule is that no answer goes once a response has started. One that has ended is all
 * queued before the rejection, though, so the rejection may follow it, unless it closes the
 * connection. node:http's own answers (a 417 to a bad Expect, a 400 without Host) are such
 * responses: still the socket's until written, which a parse in the same read comes before
 * (found by the fast path's differential fuzz, seed 20261208).
 */
function answering(socket: Duplex): boolean {
  const inFlight = (socket as { _httpMessage?: InFlight | null })._httpMessage;
  if (inFlight?._headerSent !== true) return false;
  return inFlight.writableEnded !== true || inFlight._last === true;
}

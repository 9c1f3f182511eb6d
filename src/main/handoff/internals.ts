/**
 * handoff works below node:net and child_process, as node:cluster's round robin does: it takes
 * connections from a listening server's raw libuv handle (`server._handle`, whose `onconnection`
 * it replaces) and watches child_process's internal NODE_HANDLE_ACK/NACK answers, which free a
 * channel for the next handle. None of that is public API. The primary checks for it when it
 * starts and fails with one line rather than misbehave on a Node that changed it.
 */
import type { ChildProcess } from "node:child_process";
import type { Server } from "node:net";
import { type EchoplexError, fail } from "../../errors.ts";
import type { TcpHandle } from "./handles.ts";

/** The Node versions handoff is tested on (package.json engines, CI). */
export const SUPPORTED = "Node 24 and later";

function unsupported(missing: string): EchoplexError {
  return fail("ECHOPLEX_UNSUPPORTED_NODE", {
    what: "--mode handoff",
    needs: missing,
    node: process.version,
    todo: `it is tested on ${SUPPORTED}: use one of those, or another --mode (reuseport, cluster)`,
  });
}

/** The raw libuv handle of a bound net.Server, checked to be what handoff drives. */
export function rawHandle(server: Server): TcpHandle {
  const handle = (server as unknown as { _handle?: Partial<TcpHandle> | null })._handle;
  if (
    typeof handle?.onconnection !== "function" ||
    typeof handle.listen !== "function" ||
    typeof handle.close !== "function"
  ) {
    throw unsupported("a listening server's raw handle (server._handle.onconnection)");
  }
  return handle as TcpHandle;
}

/**
 * A forked worker's channel keeps handle messages behind the one awaiting its internal answer
 * (`_handleQueue`, set up with the channel); without it there is no ACK to wait for.
 */
export function checkChannel(child: ChildProcess): void {
  if (!("_handleQueue" in child) || !("_pendingMessage" in child)) {
    throw unsupported("child_process's handle acknowledgements (NODE_HANDLE_ACK)");
  }
}

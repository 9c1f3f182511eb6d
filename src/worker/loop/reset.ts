/** A TCP RST to a client, from any of our sockets. */
import type { Socket } from "node:net";

/**
 * Reset `socket`'s connection (RST, not FIN). Over TLS the RST goes to the TCP socket under the
 * TLS socket where we made one (a handed-off connection); a TLS socket that node:tls accepted
 * itself has no TCP socket of ours to reset, and is closed instead. Never throws.
 */
export function reset(socket: Socket & { _parent?: Socket | null }): void {
  try {
    (socket._parent ?? socket).resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/**
 * Which process holds the server side of a connection, read from the OS (Linux /proc): the
 * socket's inode from /proc/net/tcp, then the process whose descriptors include that inode.
 * No test hook in the server is needed to see which worker served a connection.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The server-side socket inode of each connection to `serverPort`, by client port: one read. */
function serverInodes(serverPort: number): Map<number, string> {
  const inodes = new Map<number, string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[9] === "0") continue;
      const local = Number.parseInt((f[1] ?? "").split(":")[1] ?? "", 16);
      if (local === serverPort)
        inodes.set(Number.parseInt((f[2] ?? "").split(":")[1] ?? "", 16), f[9] as string);
    }
  }
  return inodes;
}

/**
 * The owner (as ownerOf) of each of many connections, reading /proc once rather than once per
 * connection: a test that scans 200 connections one by one blocks its own event loop for seconds.
 */
export function ownersOf(
  serverPort: number,
  clientPorts: readonly number[],
  pids: readonly number[],
): Map<number, number> {
  const byInode = new Map<string, number>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m !== null) byInode.set(m[1] as string, pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  const inodes = serverInodes(serverPort);
  return new Map(clientPorts.map((port) => [port, byInode.get(inodes.get(port) ?? "") ?? -1]));
}

/** How many connections each pid holds. */
export function countByOwner(
  serverPort: number,
  clientPorts: readonly number[],
  pids: readonly number[],
): Map<number, number> {
  const counts = new Map<number, number>(pids.map((p) => [p, 0]));
  for (const owner of ownersOf(serverPort, clientPorts, pids).values()) {
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  return counts;
}

/** The pid among `pids` whose descriptors hold the server side of the connection, or -1. */
export function ownerOf(serverPort: number, clientPort: number, pids: readonly number[]): number {
  return ownersOf(serverPort, [clientPort], pids).get(clientPort) ?? -1;
}

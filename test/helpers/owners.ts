/**
 * Which process holds the server side of a connection, read from the OS (Linux /proc): the
 * socket's inode from /proc/net/tcp, then the process whose descriptors include that inode.
 * No test hook in the server is needed to see which worker served a connection.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

function serverInode(serverPort: number, clientPort: number): string | undefined {
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = Number.parseInt((f[1] ?? "").split(":")[1] ?? "", 16);
      const remote = Number.parseInt((f[2] ?? "").split(":")[1] ?? "", 16);
      if (local === serverPort && remote === clientPort && f[9] !== "0") return f[9];
    }
  }
  return undefined;
}

/** The pid among `pids` whose descriptors hold the server side of the connection, or -1. */
export function ownerOf(serverPort: number, clientPort: number, pids: readonly number[]): number {
  const inode = serverInode(serverPort, clientPort);
  if (inode === undefined) return -1;
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return -1;
}

/** How many connections each pid holds. */
export function countByOwner(
  serverPort: number,
  clientPorts: readonly number[],
  pids: readonly number[],
): Map<number, number> {
  const counts = new Map<number, number>(pids.map((p) => [p, 0]));
  for (const port of clientPorts) {
    const owner = ownerOf(serverPort, port, pids);
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  return counts;
}

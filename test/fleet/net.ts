/**
 * A network of namespaces on this machine for the fleet test: one namespace per "host", each
 * joined to the load balancer's namespace by a veth link of its own (a /24 per link, in
 * 10.201.0.0/16, a range used only inside these namespaces). Everything it makes (namespaces,
 * links, the processes started in them) it removes in close(), also after a failure, and a run
 * that died without closing is cleaned up by the next one.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";

/** Namespaces of a run are named `${PREFIX}${run}-${name}`; stale ones are removed at start. */
const PREFIX = "epxf";

const ip = (...args: string[]): string =>
  execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

export interface Link {
  /** The host's end, its first address (services) and second (admin). */
  readonly address: string;
  readonly admin: string;
  /** The load balancer's end of the link. */
  readonly gateway: string;
}

export class Net {
  readonly #run: string;
  readonly #namespaces: string[] = [];
  readonly #children = new Set<ChildProcess>();
  #links = 0;

  constructor() {
    Net.removeStale();
    this.#run = `${process.pid.toString(36)}`;
  }

  /** Namespaces of runs whose process is gone (killed before it could clean up). */
  static removeStale(): void {
    for (const line of ip("netns", "list").split("\n")) {
      const name = line.split(" ")[0] ?? "";
      const m = new RegExp(`^${PREFIX}([0-9a-z]+)-`).exec(name);
      if (m === null) continue;
      const pid = Number.parseInt(m[1] as string, 36);
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (!alive || pid === process.pid) ip("netns", "del", name);
    }
  }

  ns(name: string): string {
    const full = `${PREFIX}${this.#run}-${name}`;
    if (this.#namespaces.includes(full)) return full;
    ip("netns", "add", full);
    this.#namespaces.push(full);
    ip("-n", full, "link", "set", "lo", "up");
    return full;
  }

  /** A link between `hub`'s namespace and `leaf`'s, numbered in order: 10.201.N.0/24. */
  link(hub: string, leaf: string): Link {
    const n = ++this.#links;
    const a = `ef${this.#run}${n}a`.slice(-15);
    const b = `ef${this.#run}${n}b`.slice(-15);
    ip("link", "add", a, "netns", hub, "type", "veth", "peer", "name", b, "netns", leaf);
    const net = `10.201.${n}`;
    ip("-n", hub, "addr", "add", `${net}.1/24`, "dev", a);
    ip("-n", leaf, "addr", "add", `${net}.2/24`, "dev", b);
    ip("-n", leaf, "addr", "add", `${net}.3/24`, "dev", b);
    ip("-n", hub, "link", "set", a, "up");
    ip("-n", leaf, "link", "set", b, "up");
    // The leaf reaches the hub's other links (the load balancer's addresses) through it.
    ip("-n", leaf, "route", "add", "10.201.0.0/16", "via", `${net}.1`);
    return { address: `${net}.2`, admin: `${net}.3`, gateway: `${net}.1` };
  }

  /** A process inside `ns` (ip netns exec execs it: the pid is the command's own). */
  spawn(ns: string, command: string, args: readonly string[]): ChildProcess {
    const child = spawn("ip", ["netns", "exec", ns, command, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#children.add(child);
    child.once("exit", () => this.#children.delete(child));
    return child;
  }

  /** SIGKILL every process in `ns` at once: the host crashes (a primary and its workers). */
  crash(ns: string): void {
    for (const pid of ip("netns", "pids", ns).split("\n").filter(Boolean))
      process.kill(Number(pid), "SIGKILL");
  }

  /** Kill what is still running, then remove the namespaces (and with them their links). */
  async close(): Promise<void> {
    const exits = [...this.#children].map(
      (c) =>
        new Promise<void>((resolve) =>
          c.exitCode !== null ? resolve() : c.once("exit", () => resolve()),
        ),
    );
    for (const c of this.#children) c.kill("SIGKILL");
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 5000))]);
    for (const ns of this.#namespaces.splice(0)) {
      try {
        this.crash(ns); // whatever those processes started (a server's workers) goes too
        ip("netns", "del", ns);
      } catch {
        // already gone
      }
    }
  }
}

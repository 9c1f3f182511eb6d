/** Debian's python3-httpbin, started on a free loopback port, or null where it is not installed. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";

const PYTHON = "/usr/bin/python3";

export interface Httpbin {
  readonly port: number;
  readonly version: string;
  stop(): void;
}

/** httpbin's version where python3 can import it, else null. */
export function httpbinVersion(): string | null {
  const r = spawnSync(
    PYTHON,
    ["-c", "import importlib.metadata as m; print(m.version('httpbin'))"],
    {
      encoding: "utf8",
    },
  );
  return r.status === 0 ? r.stdout.trim() : null;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export async function startHttpbin(): Promise<Httpbin | null> {
  const version = httpbinVersion();
  if (version === null) return null;
  const port = await freePort();
  const child: ChildProcess = spawn(
    PYTHON,
    ["-c", `from httpbin.core import app; app.run(host="127.0.0.1", port=${port})`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  // Flask says where it listens on stderr once it does.
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    child.stderr?.on("data", (d: Buffer) => {
      seen += d.toString();
      if (seen.includes("Running on")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`httpbin exited (${code}): ${seen}`)));
  });
  return { port, version, stop: () => child.kill() };
}

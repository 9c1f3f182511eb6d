/** The published entry point: `npm run build` output runs as the `echoplex` bin. */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { startServer } from "../bench/lib/server.ts";
import { WORKER_EXEC_ARGV } from "../src/main/supervision/workers.ts";
import { echoThrough, random } from "./helpers/client.ts";
import { waitFor, within } from "./helpers/server.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  bin: { echoplex: string };
};

it("builds dist/ whose bin, with production dependencies only, serves handoff echo, HTTP and offloaded work and passes the Docker HEALTHCHECK", async (t) => {
  const out = mkdtempSync(join(tmpdir(), "echoplex-build-"));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  execFileSync(
    join(root, "node_modules/.bin/tsc"),
    ["-p", join(root, "tsconfig.build.json"), "--outDir", join(out, "dist")],
    {
      stdio: "inherit",
    },
  );
  // Laid out as the Dockerfile's runtime stage: package.json, dist/, and the production
  // dependencies alone, installed the way the Dockerfile does (from npm's cache: npm ci filled it).
  copyFileSync(join(root, "package.json"), join(out, "package.json"));
  copyFileSync(join(root, "package-lock.json"), join(out, "package-lock.json"));
  const install = "npm ci --omit=dev --ignore-scripts";
  assert.match(readFileSync(join(root, "Dockerfile"), "utf8"), new RegExp(`RUN ${install}`));
  execFileSync("npm", [...install.split(" ").slice(1), "--offline", "--no-audit", "--no-fund"], {
    cwd: out,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const bin = join(out, pkg.bin.echoplex);
  assert.ok(statSync(bin).isFile(), `${pkg.bin.echoplex} is built`);

  const version = spawnSync(process.execPath, [bin, "--version"], { encoding: "utf8" });
  assert.equal(version.stdout.trim(), pkg.version);

  // Offloaded work too: the pool's task file must resolve to dist's .js.
  const server = await startServer(
    [
      ...["--mode", "handoff", "--workers", "2", "--port", "0", "--http", "0", "--admin", "0"],
      ...["--work", "sha256:2", "--offload", "1"],
    ],
    { cli: bin },
  );
  t.after(() => server.stop());
  const payload = random(100_000);
  assert.deepEqual(await echoThrough(server.port, payload), payload);
  const res = await fetch(`http://127.0.0.1:${server.listening.http}/`, {
    method: "POST",
    body: "built",
  });
  assert.equal(await res.text(), "built");
  assert.match(res.headers.get("x-echoplex-digest") ?? "", /^[0-9a-f]{64}$/);

  // The Dockerfile's HEALTHCHECK command, pointed at this server's admin port: 0 while it runs,
  // 1 once nothing answers.
  const healthcheck = (port: number) => {
    const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
    const [command, ...args] = JSON.parse(
      /HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])/.exec(dockerfile)?.[1] ?? "[]",
    ) as string[];
    assert.equal(command, "node");
    const script = (args.at(-1) as string).replace("9464", String(port));
    return spawnSync(process.execPath, [...args.slice(0, -1), script]).status;
  };
  assert.equal(healthcheck(server.listening.admin as number), 0);
  await server.stop();
  assert.equal(healthcheck(server.listening.admin as number), 1);
});

it("npm start builds dist/ and runs it, and a SIGTERM to npm reaches the server, which drains", async (t) => {
  const npm = spawn("npm", ["start", "--", "--port", "0", "--admin", "off", "--workers", "1"], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => npm.kill("SIGKILL"));
  let out = "";
  npm.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const line = await waitFor("the listening line", () =>
    out.split("\n").find((l) => l.includes('"msg":"listening"')),
  );
  const { port, pid } = JSON.parse(line) as { port: number; pid: number };
  const payload = random(100);
  assert.deepEqual(await echoThrough(port, payload), payload);
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  assert.ok(cmdline.includes("dist/main/cli.js"), `runs what production runs: ${cmdline}`);
  for (const flag of WORKER_EXEC_ARGV) assert.ok(cmdline.includes(flag), `${flag}: ${cmdline}`);
  npm.kill("SIGTERM");
  const exit = await within(once(npm, "exit") as Promise<[number | null]>, 15_000, () => null);
  assert.ok(exit !== null, "npm did not exit: the signal never reached the server");
  const [code] = exit;
  assert.match(out, /"msg":"stopped"/, "the server drained and stopped");
  assert.equal(code, 0);
  assert.throws(() => process.kill(pid, 0), "no server left behind");
});

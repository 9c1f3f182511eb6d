/** The published entry point: `npm run build` output runs as the `echoplex` bin. */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { startServer } from "../bench/lib/server.ts";
import { echoThrough, random } from "./helpers/client.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  bin: { echoplex: string };
};

it("builds dist/ whose bin answers --version and serves handoff echo, HTTP and offloaded work", async (t) => {
  const out = mkdtempSync(join(tmpdir(), "echoplex-build-"));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  execFileSync(
    join(root, "node_modules/.bin/tsc"),
    ["-p", join(root, "tsconfig.build.json"), "--outDir", join(out, "dist")],
    {
      stdio: "inherit",
    },
  );
  // A package laid out as npm installs it: package.json, dist/ and its dependencies.
  copyFileSync(join(root, "package.json"), join(out, "package.json"));
  symlinkSync(join(root, "node_modules"), join(out, "node_modules"));
  const bin = join(out, pkg.bin.echoplex);
  assert.ok(statSync(bin).isFile(), `${pkg.bin.echoplex} is built`);

  const version = spawnSync(process.execPath, [bin, "--version"], { encoding: "utf8" });
  assert.equal(version.stdout.trim(), pkg.version);

  // Offloaded work too: the pool's task file must resolve to dist's .js.
  const server = await startServer(
    [
      ...["--mode", "handoff", "--workers", "2", "--port", "0", "--http", "0"],
      ...["--work", "sha256:2", "--offload", "1"],
    ],
    {},
    20_000,
    bin,
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
});

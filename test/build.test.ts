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

it("builds dist/ whose bin answers --version and serves handoff echo", async (t) => {
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

  const server = await startServer(
    ["--mode", "handoff", "--workers", "2", "--port", "0"],
    {},
    20_000,
    bin,
  );
  t.after(() => server.stop());
  const payload = random(100_000);
  assert.deepEqual(await echoThrough(server.port, payload), payload);
});

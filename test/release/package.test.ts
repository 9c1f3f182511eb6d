/**
 * The npm package as a user gets it (issue 15): `npm pack` builds first and ships what the bins
 * and the API need and nothing else; installed into an empty project with production
 * dependencies only, `echoplex` serves, `echoplex-load` loads it and merges reports, and
 * `import { start } from "echoplex"` / `import { load } from "echoplex/load"` work and type-check.
 * Packed from a copy of the sources, so that its build never races the tests that build dist/.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startServer } from "../../bench/lib/server.ts";
import { echoThrough, random } from "../helpers/client.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  bin: Record<string, string>;
};
// Packuments come from the registry (as for any user); tarballs from the cache where npm ci put them.
const NPM_FLAGS = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel", "error"];

/** What the sources' pack step needs: the package files, the compiler config, src, docs. */
const SOURCES = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json"];

describe("the npm package, packed and installed with production dependencies only", () => {
  const dir = mkdtempSync(join(tmpdir(), "echoplex-pack-"));
  const project = join(dir, "project");
  const bin = (name: string) => join(project, "node_modules/.bin", name);
  let files: string[] = [];

  before(() => {
    const src = join(dir, "src");
    mkdirSync(src);
    for (const f of [...SOURCES, "README.md", "LICENSE"]) cpSync(join(root, f), join(src, f));
    cpSync(join(root, "src"), join(src, "src"), { recursive: true });
    symlinkSync(join(root, "node_modules"), join(src, "node_modules"));
    const tarball = execFileSync("npm", ["pack", "--pack-destination", dir, ...NPM_FLAGS], {
      cwd: src,
      encoding: "utf8",
    })
      .trim()
      .split("\n")
      .at(-1) as string;
    files = execFileSync("tar", ["tzf", join(dir, tarball)], { encoding: "utf8" })
      .trim()
      .split("\n");
    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "user-project", private: true, type: "module" }),
    );
    execFileSync("npm", ["install", "--omit=dev", join(dir, tarball), ...NPM_FLAGS], {
      cwd: project,
      stdio: ["ignore", "ignore", "inherit"],
    });
  });
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

  it("the tarball: built dist/ with types, both bins, README, LICENSE, package.json; no tests, bench or sources", () => {
    const top = new Set(files.map((f) => f.split("/")[1]));
    assert.deepEqual([...top].sort(), ["LICENSE", "README.md", "dist", "package.json"]);
    for (const f of [
      ...Object.values(pkg.bin),
      "dist/index.js",
      "dist/index.d.ts",
      "dist/load/index.js",
      "dist/load/index.d.ts",
      "dist/load/task.js",
      "dist/worker/process/process-entry.js",
      "dist/worker/process/thread-entry.js",
      "dist/worker/work/work-task.js",
    ])
      assert.ok(files.includes(`package/${f}`), `${f} is packed`);
    assert.ok(
      !files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
      "no TypeScript sources",
    );
  });

  it("only production dependencies were installed (no devDependency, no Node binary)", () => {
    const installed = new Set(readdirSync(join(project, "node_modules")));
    for (const dev of ["typescript", "@biomejs", "node", "fast-check", "tinybench"])
      assert.ok(!installed.has(dev), `${dev} is not installed`);
  });

  it("echoplex --version, and a handoff server from the bin that echoes", async (t) => {
    const version = spawnSync(bin("echoplex"), ["--version"], { encoding: "utf8" });
    assert.equal(version.stdout.trim(), pkg.version, version.stderr);
    const server = await startServer(
      ["--mode", "handoff", "--workers", "2", "--port", "0", "--http", "0", "--admin", "0"],
      { cli: join(project, "node_modules/echoplex", pkg.bin.echoplex as string) },
    );
    t.after(() => server.stop());
    const payload = random(50_000);
    assert.deepEqual(await echoThrough(server.port, payload), payload);

    // echoplex-load against it, twice with --save, then merge.
    const saved = [join(dir, "a.json"), join(dir, "b.json")];
    for (const file of saved) {
      const r = spawnSync(
        bin("echoplex-load"),
        [
          ...["--port", String(server.port), "--duration", "0.4", "--warmup", "0"],
          ...["--connections", "2", "--json", "--save", file],
        ],
        { encoding: "utf8" },
      );
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
      assert.ok(report.messages > 0);
      assert.equal(report.mismatches, 0);
    }
    const merged = spawnSync(bin("echoplex-load"), ["merge", ...saved, "--json"], {
      encoding: "utf8",
    });
    assert.equal(merged.status, 0, merged.stderr);
    assert.equal(JSON.parse(merged.stdout).clients, 2);
  });

  it("on a Node older than 24 (this machine's global node, where it is one), each bin says so in one line", (t) => {
    const env = { PATH: "/usr/local/bin:/usr/bin:/bin" };
    const old = spawnSync("node", ["--version"], { encoding: "utf8", env });
    const major = Number.parseInt(old.stdout.replace(/^v/, ""), 10);
    if (old.status !== 0 || !(major < 24)) {
      t.skip(`no Node older than 24 on the system PATH (${old.stdout.trim() || "none"})`);
      return;
    }
    for (const name of Object.keys(pkg.bin)) {
      const r = spawnSync(
        "node",
        [join(project, "node_modules/echoplex", pkg.bin[name] as string), "--version"],
        {
          encoding: "utf8",
          env,
        },
      );
      assert.equal(r.status, 1, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(
        r.stderr,
        /needs Node\.js 24\.11\.0 or later; this is .*\[ECHOPLEX_UNSUPPORTED_NODE\]\n$/,
      );
    }
  });

  it("the library API from an ES module, and its types check", () => {
    const script = `
      import { start, EchoplexError } from "echoplex";
      import { load } from "echoplex/load";
      const server = await start({ mode: "single", http: 0 });
      const report = await load({ port: server.ports.echo, duration: 0.3, warmup: 0 });
      const ws = await load({ port: server.ports.http ?? 0, protocol: "ws", duration: 0.3, warmup: 0 });
      let code = "";
      try { await start({ port: 70000 }); } catch (e) { code = e instanceof EchoplexError ? e.code : "not ours"; }
      await server.stop();
      console.log(JSON.stringify({ ports: server.ports, messages: report.messages, ws: ws.messages, code }));
    `;
    writeFileSync(join(project, "use.ts"), script);
    const r = spawnSync(process.execPath, ["use.ts"], { cwd: project, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
    assert.ok(out.ports.echo > 0 && out.ports.http > 0, JSON.stringify(out));
    assert.equal(out.ports.admin, null, "no admin port unless asked for");
    assert.ok(out.messages > 0 && out.ws > 0);
    assert.equal(out.code, "ECHOPLEX_BAD_OPTION");
    // From CommonJS too: require() of an ES module (Node 22.12 and later, without a flag).
    writeFileSync(
      join(project, "use.cjs"),
      `const { start } = require("echoplex");
       const { load } = require("echoplex/load");
       start({ mode: "single" }).then(async (s) => {
         const r = await load({ port: s.ports.echo, duration: 0.2, warmup: 0 });
         await s.stop();
         console.log(r.messages > 0 ? "ok" : "no messages");
       });`,
    );
    const cjs = spawnSync(process.execPath, ["use.cjs"], { cwd: project, encoding: "utf8" });
    assert.equal(cjs.stdout.trim(), "ok", cjs.stderr);
    // The emitted declarations, as a TypeScript user's compiler reads them through "exports".
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "nodenext",
          target: "es2024",
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          // The user's own @types/node (ours: this project installed no devDependency).
          typeRoots: [join(root, "node_modules/@types")],
          types: ["node"],
          skipLibCheck: false,
        },
        files: ["use.ts", "typed.ts"],
      }),
    );
    writeFileSync(
      join(project, "typed.ts"),
      `import { type Echoplex, start } from "echoplex";
       import { type LoadResult, load } from "echoplex/load";
       export async function f(): Promise<number> {
         const s: Echoplex = await start({ mode: "single", maxBody: "1MiB" });
         const r: LoadResult = await load({ port: s.ports.echo, protocol: "tcp" });
         // @ts-expect-error: not a setting
         await start({ nope: 1 });
         // @ts-expect-error: a port is a number
         await start({ port: "x" });
         // @ts-expect-error: no such mode
         await start({ mode: "nope" });
         await start({ mode: "handoff", port: 0, http: 0 });
         return r.msgs_per_s + (s.ports.http ?? 0);
       }
      `,
    );
    const tsc = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", project], {
      encoding: "utf8",
    });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });
});

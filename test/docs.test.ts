/**
 * The docs a newcomer reads first stay short, and the generated ones stay what their tables
 * make of them (npm run docs): every flag `--help` prints is documented, every error code too.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { errorsMarkdown } from "../src/errors.ts";
import { LOAD_FLAGS, loadFlagsMarkdown } from "../src/load/flags.ts";
import { SETTINGS } from "../src/main/config/config.ts";
import { flagsMarkdown, helpText } from "../src/main/config/help.ts";

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), "utf8");

describe("docs", () => {
  it("docs/flags.md and docs/errors.md are what their tables make of them (npm run docs)", () => {
    assert.equal(
      read("docs/flags.md"),
      `${flagsMarkdown()}\n${loadFlagsMarkdown()}`,
      "npm run docs",
    );
    assert.equal(read("docs/errors.md"), errorsMarkdown(), "npm run docs");
  });

  it("documents every flag --help prints, the server's and the load client's", () => {
    const flags = read("docs/flags.md");
    const help = helpText("0.0.0");
    const shown = [...help.matchAll(/^\s+(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1] as string);
    assert.ok(shown.length >= SETTINGS.length, `--help shows ${shown.length} flags`);
    for (const flag of shown)
      assert.ok(flags.includes(`\`${flag}`), `${flag} is not in docs/flags.md`);
    for (const name of Object.keys(LOAD_FLAGS))
      assert.ok(
        flags.includes(`| \`--${name}\` |`),
        `echoplex-load --${name} is not in docs/flags.md`,
      );
  });

  it("keeps the README, ARCHITECTURE and BENCHMARKS within an afternoon's reading", () => {
    const readme = read("README.md");
    const top = readme.split("\n").slice(0, 15).join("\n");
    assert.match(top, /npm ci && npm start/);
    assert.match(top, /npm test/);
    for (const [file, max] of [
      ["README.md", 12_000],
      ["docs/ARCHITECTURE.md", 20_000],
      ["docs/BENCHMARKS.md", 40_000],
    ] as const) {
      const bytes = Buffer.byteLength(read(file));
      assert.ok(bytes <= max, `${file} is ${bytes} bytes, over ${max}: say less, link more`);
    }
  });

  it("links only to files that exist", () => {
    for (const file of ["README.md", "docs/PROTOCOLS.md", "docs/OPERATIONS.md", "docs/LOAD.md"]) {
      const base = new URL(`../${file}`, import.meta.url);
      for (const [, target] of read(file).matchAll(/\]\(([^)#:\s]+)(#[^)]*)?\)/g))
        assert.doesNotThrow(
          () => readFileSync(new URL(target as string, base)),
          `${file} -> ${target}`,
        );
    }
  });
});

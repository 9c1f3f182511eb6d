import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { ERROR_CODES } from "../src/errors.ts";

it("docs/errors.md documents every error code", () => {
  const doc = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");
  for (const code of Object.keys(ERROR_CODES))
    assert.ok(doc.includes(`\`${code}\``), `${code} is missing from docs/errors.md`);
  const documented = [...doc.matchAll(/`(ECHOPLEX_[A-Z_]+)`/g)].map((m) => m[1]);
  for (const code of documented)
    assert.ok(code !== undefined && code in ERROR_CODES, `${code} is documented but not defined`);
});

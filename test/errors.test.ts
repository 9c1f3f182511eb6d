import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ERRORS, fail, USAGE_ERRORS } from "../src/errors.ts";

describe("the error table", () => {
  it("makes each code's message from its template, one line", () => {
    const e = fail("ECHOPLEX_PORT_IN_USE", { flag: "--http", where: "0.0.0.0:80" });
    assert.equal(e.code, "ECHOPLEX_PORT_IN_USE");
    assert.match(e.message, /^--http 0\.0\.0\.0:80 is already in use: .*--http/);
    for (const [code, spec] of Object.entries(ERRORS)) {
      assert.ok(!spec.meaning.includes("\n") && !spec.todo.includes("\n"), code);
      assert.equal(USAGE_ERRORS.has(code as keyof typeof ERRORS), spec.exit === 2, code);
    }
  });
});

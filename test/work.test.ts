/** --work sha256:ROUNDS, inline and offloaded to piscina (--offload N): same digests, same echo. */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createWork } from "../src/worker/work/work.ts";
import { echoThrough, HOST } from "./helpers/client.ts";
import { serve } from "./helpers/server.ts";

/** The digest computed independently of src/: createHash, round after round. */
function expected(data: Buffer, rounds: number): string {
  let digest: Buffer = data;
  for (let i = 0; i < rounds; i++) digest = createHash("sha256").update(digest).digest();
  return digest.toString("hex");
}

describe("work", () => {
  it("gives the same digests inline and on a piscina pool", async () => {
    const inline = createWork({ algorithm: "sha256", rounds: 7 }, 0);
    const pooled = createWork({ algorithm: "sha256", rounds: 7 }, 2);
    assert.ok(inline !== null && pooled !== null);
    assert.equal(inline.offloaded, false);
    assert.equal(pooled.offloaded, true);
    const inputs = [Buffer.alloc(0), randomBytes(1), randomBytes(64), randomBytes(70_000)];
    // A view into a larger buffer: only its own bytes are hashed.
    const big = randomBytes(1000);
    inputs.push(big.subarray(100, 164));
    for (const data of inputs) {
      const want = expected(data, 7);
      assert.equal(inline.digest(data), want);
      assert.equal(await pooled.digest(data), want);
    }
    await pooled.close();
  });

  for (const [mode, offload] of [
    ["single", "0"],
    ["single", "2"],
    ["handoff", "1"],
  ] as const) {
    it(`keeps the echo byte-exact and in order, and puts the digest on HTTP (${mode}, --offload ${offload})`, async (t) => {
      const s = await serve(t, [
        ...["--mode", mode, "--workers", "2", "--http", "0"],
        ...["--work", "sha256:5", "--offload", offload],
      ]);
      // Many chunks on one connection: with offload, each waits for its digest; none may pass
      // another.
      const payload = randomBytes(2 * 1024 * 1024);
      const back = await echoThrough(s.port, payload, 1024);
      assert.equal(back.length, payload.length);
      assert.ok(back.equals(payload), "echo stays byte-exact");

      const body = randomBytes(3000);
      const res = await fetch(`http://${HOST}:${s.listening.http}/`, { method: "POST", body });
      assert.equal(res.headers.get("x-echoplex-digest"), expected(body, 5));
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), body);
    });
  }
});

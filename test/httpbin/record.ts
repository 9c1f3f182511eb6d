/**
 * Records python3-httpbin's answers to the differential test's cases (cases.ts) into
 * recorded.json: `npm run httpbin:record` where Debian's python3-httpbin is installed
 * (`apt-get install python3-httpbin`). test/httpbin.test.ts compares echoplex with the recording
 * always, and the recording with a live httpbin where one can run.
 */
import { writeFileSync } from "node:fs";
import { CASES, summarize } from "./cases.ts";
import { askHttp1 } from "./client.ts";
import { startHttpbin } from "./python.ts";

const bin = await startHttpbin();
if (bin === null) {
  console.error("python3-httpbin is not installed: apt-get install python3-httpbin");
  process.exit(2);
}
try {
  const out: Record<string, unknown> = {};
  for (const c of CASES)
    out[c.name] = summarize(c, await askHttp1(bin.port, c), `127.0.0.1:${bin.port}`);
  writeFileSync(new URL("recorded.json", import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
  console.log(`recorded ${CASES.length} answers of httpbin ${bin.version}`);
} finally {
  bin.stop();
}

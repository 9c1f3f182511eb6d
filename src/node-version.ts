/**
 * The lowest Node.js echoplex runs on (package.json's `engines`): Node 24's first LTS release.
 * It is checked when a command or the library starts, so an older Node gets one line saying so,
 * not a stack trace from the first API it lacks (process.threadCpuUsage,
 * process.getBuiltinModule, node:http2's raw header lists in respond() from 24.7, ...).
 */
import { fail } from "./errors.ts";

export const LOWEST_NODE = "24.11.0";

export function checkNode(version: string = process.versions.node): void {
  const [major = 0, minor = 0] = version.split(".").map((n) => Number.parseInt(n, 10));
  const [lowMajor = 0, lowMinor = 0] = LOWEST_NODE.split(".").map(Number);
  if (major > lowMajor || (major === lowMajor && minor >= lowMinor)) return;
  throw fail("ECHOPLEX_UNSUPPORTED_NODE", {
    what: "echoplex",
    needs: `Node.js ${LOWEST_NODE} or later`,
    node: version,
    todo: `install Node 24 (nvm install 24), or run it as npx -p node@24 -p echoplex echoplex`,
  });
}

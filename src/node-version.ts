/**
 * The lowest Node.js echoplex runs on (package.json's `engines`), checked when a command or the
 * library starts: an older Node gets one line saying so, not a stack trace from the first API it
 * lacks (process.threadCpuUsage, process.getBuiltinModule, ...).
 */
import { fail } from "./errors.ts";

export const LOWEST_NODE = 24;

export function checkNode(version: string = process.versions.node): void {
  const major = Number.parseInt(version, 10);
  if (major >= LOWEST_NODE) return;
  throw fail("ECHOPLEX_UNSUPPORTED_NODE", {
    what: "echoplex",
    needs: `Node.js ${LOWEST_NODE} or later`,
    node: version,
    todo: `install Node ${LOWEST_NODE} (nvm install ${LOWEST_NODE}), or run it as npx -p node@${LOWEST_NODE} -p echoplex echoplex`,
  });
}

/**
 * The echoplex package as a library: `start()` runs a server in this process (its workers in
 * processes or threads of their own, as the mode has it), for test suites that need an echo
 * target; the load client is `echoplex/load`. Every error echoplex throws on purpose is an
 * EchoplexError whose `code` is stable (docs/errors.md).
 */
export { EchoplexError, ERROR_CODES, type ErrorCode } from "./errors.ts";
export { type Echoplex, type EchoplexPorts, type StartOptions, start } from "./main/start.ts";

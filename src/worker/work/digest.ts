/** The simulated CPU work: SHA-256 applied `rounds` times, each round hashing the last digest. */
import type { hash as Hash } from "node:crypto";

// node:crypto is loaded on the first digest, not at import: a loop without --work never pays for
// OpenSSL's initialisation (a few MB per worker).
let hash: typeof Hash | undefined;

/** Hex digest of `rounds` chained SHA-256 hashes of `data` (~1 µs a round on 64 bytes). */
export function sha256Rounds(data: Uint8Array, rounds: number): string {
  hash ??= process.getBuiltinModule("node:crypto").hash;
  let digest = hash("sha256", data, "buffer");
  for (let i = 1; i < rounds; i++) digest = hash("sha256", digest, "buffer");
  return digest.toString("hex");
}

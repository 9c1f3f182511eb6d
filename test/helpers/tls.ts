/** The test-only TLS files (test/fixtures/tls) and client options that trust the certificate. */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { serve } from "./server.ts";

const file = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));

export const TLS = {
  cert: file("cert.pem"),
  key: file("key.pem"),
  /** A key that does not match cert.pem. */
  otherKey: file("other-key.pem"),
  /** A second certificate and key, for rotation. */
  nextCert: file("next-cert.pem"),
  nextKey: file("next-key.pem"),
  /** Not PEM at all. */
  readme: file("README.md"),
  /** A test CA, a client certificate it signed, and a self-signed one it did not. */
  clientCa: file("ca.pem"),
  clientCert: file("client-cert.pem"),
  clientKey: file("client-key.pem"),
  strangerCert: file("stranger-cert.pem"),
  strangerKey: file("stranger-key.pem"),
};

/** The certificate as a CA for clients (it is self-signed). */
export const CA = readFileSync(TLS.cert);

export const TLS_FLAGS = ["--tls-cert", TLS.cert, "--tls-key", TLS.key];

/** A handoff server whose TLS files are copies in a temporary directory, for a test to replace. */
export async function serveTlsFiles(t: TestContext, args: readonly string[]) {
  const dir = mkdtempSync(join(tmpdir(), "echoplex-tls-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  copyFileSync(TLS.cert, cert);
  copyFileSync(TLS.key, key);
  const server = await serve(t, [
    ...["--mode", "handoff", "--workers", "2", "--tls-cert", cert, "--tls-key", key],
    ...["--log-level", "info", ...args],
  ]);
  return { server, cert, key };
}

/** The test-only TLS files (test/fixtures/tls) and client options that trust the certificate. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

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
};

/** The certificate as a CA for clients (it is self-signed). */
export const CA = readFileSync(TLS.cert);

export const TLS_FLAGS = ["--tls-cert", TLS.cert, "--tls-key", TLS.key];

/**
 * TLS material: the primary reads and checks the PEM files before anything starts (a bad file is
 * a usage error, exit 2), and every echo loop reads them again to build its own secure context.
 */
import { readFileSync } from "node:fs";
import { fail } from "./errors.ts";

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  /** CA certificates for client certificates (--tls-ca). */
  readonly ca?: string | null;
  /** Ask clients for a certificate (request), and insist on one the CAs verify (require). */
  readonly clientCert?: "off" | "request" | "require";
}

/** What a TLS server is made with (its options, as node:tls takes them). */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
}

function read(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw fail("ECHOPLEX_BAD_TLS", {
      subject: `${flag} ${file}`,
      problem: `cannot read it (${reason})`,
    });
  }
}

/** Read both files and check that they are PEM and that the key matches the certificate. */
export function loadTls(files: TlsFiles): TlsMaterial {
  const mode = files.clientCert ?? "off";
  const material = {
    cert: read(files.cert, "--tls-cert"),
    key: read(files.key, "--tls-key"),
    ...(files.ca ? { ca: read(files.ca, "--tls-ca") } : {}),
    requestCert: mode !== "off",
    rejectUnauthorized: mode === "require",
  };
  if (material.ca !== undefined) checkCa(material.ca, files.ca as string);
  try {
    // Loaded here, not at the top: a process without TLS never loads node:tls (~6 MB).
    process.getBuiltinModule("node:tls").createSecureContext(material);
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0];
    throw fail("ECHOPLEX_BAD_TLS", {
      subject: `--tls-cert ${files.cert} / --tls-key ${files.key}`,
      problem: `not a usable PEM certificate and matching key (${reason})`,
    });
  }
  return material;
}

/** Every certificate in a CA file must parse: a file with none, or a broken one, is refused. */
function checkCa(pem: Buffer, file: string): void {
  const { X509Certificate } = process.getBuiltinModule("node:crypto");
  const blocks = pem
    .toString("latin1")
    .match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
  try {
    if (blocks === null) throw new Error("no PEM certificate in it");
    for (const block of blocks) new X509Certificate(block);
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0];
    throw fail("ECHOPLEX_BAD_TLS", {
      subject: `--tls-ca ${file}`,
      problem: `not PEM CA certificates (${reason})`,
    });
  }
}

/**
 * TLS material: the primary reads and checks the PEM files before anything starts (a bad file is
 * a usage error, exit 2), and every echo loop reads them again to build its own secure context.
 */
import { readFileSync } from "node:fs";
import { EchoplexError } from "./errors.ts";

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

function read(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new EchoplexError("ECHOPLEX_BAD_TLS", `${flag} ${file}: cannot read it (${reason})`);
  }
}

/** Read both files and check that they are PEM and that the key matches the certificate. */
export function loadTls(files: TlsFiles): TlsMaterial {
  const material = { cert: read(files.cert, "--tls-cert"), key: read(files.key, "--tls-key") };
  try {
    // Loaded here, not at the top: a process without TLS never loads node:tls (~6 MB).
    process.getBuiltinModule("node:tls").createSecureContext(material);
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0];
    throw new EchoplexError(
      "ECHOPLEX_BAD_TLS",
      `--tls-cert ${files.cert} / --tls-key ${files.key}: not a usable PEM certificate and matching key (${reason})`,
    );
  }
  return material;
}

/**
 * Client certificates (--tls-ca, --tls-client-cert, issue 14): `require` serves only clients whose
 * certificate the CA signed; `request` serves everyone and says in the JSON description what was
 * sent and whether it verified; the settings that cannot work are usage errors.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { CLI } from "../bench/lib/server.ts";
import { HOST } from "./helpers/client.ts";
import { sharedServer } from "./helpers/server.ts";
import { CA, TLS, TLS_FLAGS } from "./helpers/tls.ts";

interface As {
  readonly cert?: string;
  readonly key?: string;
}

/** GET /?format=json over HTTPS, presenting `as`; the description, or the error. */
function describeAs(port: number, as: As): Promise<Record<string, unknown> | Error> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: HOST,
        port,
        path: "/?format=json",
        agent: false,
        ca: CA,
        ...(as.cert ? { cert: readFileSync(as.cert), key: readFileSync(as.key as string) } : {}),
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve(JSON.parse(text)));
      },
    );
    req.on("error", resolve);
    req.end();
  });
}

const CLIENT = { cert: TLS.clientCert, key: TLS.clientKey };
const STRANGER = { cert: TLS.strangerCert, key: TLS.strangerKey };

describe("--tls-client-cert require", () => {
  const s = sharedServer([
    ...["--mode", "single", "--http", "0", ...TLS_FLAGS],
    ...["--tls-ca", TLS.clientCa, "--tls-client-cert", "require"],
  ]);
  const https = () => s.server.listening.http as number;

  it("serves a client whose certificate the CA signed, and describes the certificate", async () => {
    const d = await describeAs(https(), CLIENT);
    assert.ok(!(d instanceof Error), String(d));
    const c = d.clientCertificate as Record<string, unknown>;
    const x509 = new X509Certificate(readFileSync(TLS.clientCert));
    assert.deepEqual(c.subject, { CN: "client", O: "echoplex tests" });
    assert.deepEqual(c.issuer, { CN: "echoplex test CA" });
    assert.equal(c.serialNumber, "1001");
    assert.equal(c.fingerprint256, x509.fingerprint256);
    assert.equal(c.validFrom, x509.validFrom);
    assert.equal(c.validTo, x509.validTo);
    assert.equal(c.authorized, true);
  });

  for (const [who, as] of [
    ["no certificate", {}],
    ["a certificate the CA did not sign", STRANGER],
  ] as const) {
    it(`refuses ${who} in the handshake`, async () => {
      const d = await describeAs(https(), as);
      assert.ok(d instanceof Error, "no answer");
    });
  }

  it("holds on the TCP echo port too", async () => {
    const refused = await new Promise<boolean>((resolve) => {
      const c = tlsConnect({ host: HOST, port: s.server.port, ca: CA }, () => c.write("x"));
      c.on("data", () => resolve(false));
      c.on("error", () => resolve(true));
      c.on("close", () => resolve(true));
    });
    assert.ok(refused);
  });
});

describe("--tls-client-cert request", () => {
  const s = sharedServer([
    ...["--mode", "single", "--http", "0", ...TLS_FLAGS],
    ...["--tls-ca", TLS.clientCa, "--tls-client-cert", "request"],
  ]);
  const https = () => s.server.listening.http as number;

  it("serves a client without a certificate: no clientCertificate", async () => {
    const d = await describeAs(https(), {});
    assert.ok(!(d instanceof Error), String(d));
    assert.equal(d.clientCertificate, undefined);
  });

  it("serves a stranger's certificate and says it did not verify", async () => {
    const d = await describeAs(https(), STRANGER);
    assert.ok(!(d instanceof Error), String(d));
    const c = d.clientCertificate as Record<string, unknown>;
    assert.deepEqual(c.subject, { CN: "stranger" });
    assert.equal(c.authorized, false);
    assert.match(String(c.authorizationError), /SELF_SIGNED|self.signed/i);
  });

  it("and the CA's client as verified", async () => {
    const d = await describeAs(https(), CLIENT);
    assert.equal(
      ((d as Record<string, unknown>).clientCertificate as { authorized: boolean }).authorized,
      true,
    );
  });
});

describe("client certificate settings that cannot work", () => {
  for (const [args, why, code] of [
    [["--tls-client-cert", "request"], /needs TLS/, 2],
    [[...TLS_FLAGS, "--tls-client-cert", "require"], /needs --tls-ca/, 2],
    [[...TLS_FLAGS, "--tls-ca", TLS.clientCa], /add --tls-client-cert/, 2],
    [[...TLS_FLAGS, "--tls-client-cert", "maybe"], /off, request, require/, 2],
    [[...TLS_FLAGS, "--tls-client-cert", "request", "--tls-ca", TLS.readme], /ECHOPLEX_BAD_TLS/, 2],
  ] as const) {
    it(`${args.slice(-2).join(" ")}: one line, exit ${code}`, () => {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
      assert.equal(r.status, code, r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, why);
    });
  }
});

/**
 * HTTP/2 over TLS (--http2 on with --tls-cert, issue 14): ALPN decides, h2 to node:http2 and
 * http/1.1 (or no ALPN) to node:https, on the same port; the same echo, description, client
 * certificate and PROXY header as HTTP/1.1 over TLS; curl where it speaks HTTP/2.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { HOST, random } from "./helpers/client.ts";
import { call, session } from "./helpers/h2.ts";
import { serve, sharedServer } from "./helpers/server.ts";
import { CA, TLS, TLS_FLAGS } from "./helpers/tls.ts";

const TRUST = { ca: CA, servername: "localhost" };

/** GET `path` over HTTPS, offering `alpn` (none when empty): the protocol chosen, and the body. */
function https1(
  port: number,
  path: string,
  alpn: string[],
): Promise<{ alpn: unknown; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: HOST,
        port,
        path,
        agent: false,
        ...TRUST,
        ...(alpn.length ? { ALPNProtocols: alpn } : {}),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => {
          body += d;
        });
        res.on("end", () =>
          resolve({ alpn: (res.socket as { alpnProtocol?: unknown }).alpnProtocol, body }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("HTTP/2 over TLS, chosen by ALPN", () => {
  const shared = sharedServer([
    ...["--mode", "single", "--http", "0", "--http2", "on", ...TLS_FLAGS],
    ...["--tls-ca", TLS.clientCa, "--tls-client-cert", "request", "--max-body", "200KiB"],
  ]);
  const port = () => shared.server.listening.http as number;

  it("echoes bodies byte for byte over h2, and describes the request as HTTP 2.0 over TLS", async (t) => {
    const s = session(port(), TRUST);
    t.after(() => s.close());
    for (const size of [1, 150_000]) {
      const body = random(size);
      const r = await call(s, "/", "POST", body, { "content-type": "application/x-test" });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, body, `${size} bytes`);
    }
    assert.equal(s.alpnProtocol, "h2");
    const d = JSON.parse((await call(s, "/?format=json")).body.toString());
    assert.equal(d.httpVersion, "2.0");
    assert.equal(d.protocol, "https");
  });

  it("HTTP/1.1 on the same port: offered http/1.1, or no ALPN at all", async () => {
    for (const alpn of [["http/1.1"], []]) {
      const r = await https1(port(), "/?format=json", alpn);
      assert.equal(JSON.parse(r.body).httpVersion, "1.1", `offered ${alpn.join(",") || "nothing"}`);
      assert.equal(r.alpn, alpn.length ? "http/1.1" : false);
    }
  });

  it("the client's certificate is described over h2 too", async (t) => {
    const s = session(port(), {
      ...TRUST,
      cert: readFileSync(TLS.clientCert),
      key: readFileSync(TLS.clientKey),
    });
    t.after(() => s.close());
    const d = JSON.parse((await call(s, "/?format=json")).body.toString());
    assert.equal(d.httpVersion, "2.0");
    assert.equal(d.clientCertificate?.authorized, true);
    assert.equal(d.clientCertificate?.subject?.CN, "client");
  });

  it("response control over h2 and TLS", async (t) => {
    const s = session(port(), TRUST);
    t.after(() => s.close());
    const r = await call(s, "/?echo_status=418&echo_header=X-A:b", "POST", Buffer.from("tea"));
    assert.equal(r.status, 418);
    assert.equal(r.headers["x-a"], "b");
    assert.equal(r.body.toString(), "tea");
  });

  it("the h2c preface inside TLS without ALPN is HTTP/1.1's to refuse (h2 over TLS needs ALPN, RFC 9113 3.2)", async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const c = tlsConnect({ host: HOST, port: port(), ...TRUST }, () =>
        c.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
      );
      let text = "";
      c.setEncoding("latin1").on("data", (d: string) => {
        text += d;
      });
      c.on("close", () => resolve(text));
      c.on("error", reject);
    });
    assert.match(reply, /^HTTP\/1\.1 400 /);
  });

  it("garbage after choosing h2 ends that connection only", async (t) => {
    const closed = await new Promise<boolean>((resolve) => {
      const c = tlsConnect({ host: HOST, port: port(), ...TRUST, ALPNProtocols: ["h2"] }, () =>
        c.write(random(300)),
      );
      c.on("error", () => {});
      c.on("close", () => resolve(true));
      c.resume();
    });
    assert.ok(closed);
    const s = session(port(), TRUST);
    t.after(() => s.close());
    assert.equal((await call(s, "/", "POST", Buffer.from("ok"))).body.toString(), "ok");
  });

  it("curl --http2 over TLS, where curl speaks HTTP/2", (t) => {
    const version = spawnSync("curl", ["-V"], { encoding: "utf8" });
    if (version.status !== 0 || !/HTTP2/.test(version.stdout)) {
      t.skip("no curl with HTTP/2 here");
      return;
    }
    const url = `https://localhost:${port()}/`;
    const args = ["-s", "--cacert", TLS.cert, "--resolve", `localhost:${port()}:${HOST}`];
    const out = (more: string[]) =>
      execFileSync("curl", [...args, ...more, "-d", "via curl", "-w", "\n%{http_version}", url], {
        encoding: "utf8",
      });
    assert.equal(out(["--http2"]), "via curl\n2");
    assert.equal(out(["--http1.1"]), "via curl\n1.1");
  });
});

describe("HTTP/2 over TLS: with PROXY, in handoff, and off", () => {
  it("behind a PROXY header, h2 describes the client the header names", async (t) => {
    const server = await serve(t, [
      ...["--mode", "single", "--http", "0", "--http2", "on", ...TLS_FLAGS],
      ...["--proxy-protocol", "on"],
    ]);
    const httpPort = server.listening.http as number;
    const raw = connect(httpPort, HOST);
    raw.write("PROXY TCP4 192.0.2.7 10.0.0.1 4242 443\r\n");
    const s = session(httpPort, {
      ...TRUST,
      createConnection: () => tlsConnect({ socket: raw, ...TRUST, ALPNProtocols: ["h2"] }),
    });
    t.after(() => s.close());
    const d = JSON.parse((await call(s, "/?format=json")).body.toString());
    assert.equal(d.httpVersion, "2.0");
    assert.equal(d.remoteAddress, "192.0.2.7");
    assert.equal(d.remotePort, 4242);
  });

  it("handoff: a worker serves h2 over TLS on connections the primary hands it", async (t) => {
    const server = await serve(t, [
      ...["--mode", "handoff", "--workers", "2", "--http", "0", "--http2", "on", ...TLS_FLAGS],
    ]);
    const s = session(server.listening.http as number, TRUST);
    t.after(() => s.close());
    const body = random(5000);
    assert.deepEqual((await call(s, "/", "POST", body)).body, body);
  });

  it("--http2 off: a client offering h2 and http/1.1 gets HTTP/1.1", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0", ...TLS_FLAGS]);
    const r = await https1(server.listening.http as number, "/?format=json", ["h2", "http/1.1"]);
    assert.equal(JSON.parse(r.body).httpVersion, "1.1");
  });
});

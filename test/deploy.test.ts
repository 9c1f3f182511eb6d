/**
 * deploy/, the Dockerfile and docs/DEPLOY.md: the Kubernetes manifests validate against the
 * Kubernetes schemas (kubernetes-models); every port, path and flag in them, in the Dockerfile and
 * in the systemd unit is one the server really has; and every command DEPLOY.md runs is checked.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Service } from "kubernetes-models/v1/Service";
import { parseFlags } from "../src/args.ts";
import { LOAD_FLAGS } from "../src/load/flags.ts";
import { mergeArgs } from "../src/load/report/merge-cli.ts";
import type { Config } from "../src/main/config/config.ts";
import { parseCommand } from "../src/main/config/config.ts";
import { WORKER_EXEC_ARGV } from "../src/main/supervision/workers.ts";
import { HOST } from "./helpers/client.ts";
import { expandedArgs, jobContainer, manifests } from "./helpers/k8s-job.ts";
import { serve } from "./helpers/server.ts";

const root = new URL("../", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), "utf8");

/** The configuration echoplex would run with, given these flags (throws as the CLI would). */
function configOf(args: readonly string[]): Config {
  const command = parseCommand([...args], {});
  assert.equal(command.kind, "run", `${args.join(" ")} starts the server`);
  return (command as { config: Config }).config;
}

const [deploymentJson] = manifests("deployment.yaml");
const deployment = new Deployment(deploymentJson as never);
const pod = deployment.spec?.template.spec;
const container = pod?.containers[0];
const config = configOf(container?.args ?? []);
const portNamed = (name: string) => container?.ports?.find((p) => p.name === name);

describe("deploy/kubernetes", () => {
  it("validates against the Kubernetes schemas", () => {
    deployment.validate();
    const services = manifests("service.yaml").map((m) => new Service(m as never));
    for (const s of services) s.validate();
    for (const m of manifests("pdb.yaml")) new PodDisruptionBudget(m as never).validate();
    // The validation is real: a wrong type is refused.
    const broken = structuredClone(deploymentJson) as { spec: { replicas: unknown } };
    broken.spec.replicas = "three";
    assert.throws(() => new Deployment(broken as never).validate());
  });

  it("load from many machines: an Indexed Job saving to a shared volume, a merge that fails on the SLO, an HPA", () => {
    const load = manifests("load-job.yaml");
    const [claim, job] = [new PersistentVolumeClaim(load[0] as never), new Job(load[1] as never)];
    claim.validate();
    job.validate();
    const merge = new Job(manifests("load-merge-job.yaml")[0] as never);
    merge.validate();
    const hpa = new HorizontalPodAutoscaler(manifests("hpa.yaml")[0] as never);
    hpa.validate();
    assert.equal(job.spec?.completionMode, "Indexed");
    assert.ok((job.spec?.parallelism ?? 0) >= 2 && job.spec?.parallelism === job.spec?.completions);
    assert.deepEqual(claim.spec?.accessModes, ["ReadWriteMany"]);
    for (const j of [job, merge])
      assert.equal(
        j.spec?.template.spec?.volumes?.[0]?.persistentVolumeClaim?.claimName,
        claim.metadata?.name,
      );
    // The load client's own parser takes the args (it throws on a bad or unknown flag).
    const c = jobContainer("load-job.yaml");
    assert.deepEqual(c.command, ["node", "dist/load/cli.js"]);
    const args = expandedArgs(c, {
      LOAD_AT: String(Date.now() + 60_000),
      JOB_COMPLETION_INDEX: "3",
    });
    const flags = parseFlags("echoplex-load", LOAD_FLAGS, args);
    assert.equal(flags.save, "/results/3.json", "each pod its own report");
    assert.notEqual(flags.at, "", "one window for every pod");
    const echoService = manifests("service.yaml").find(
      (x) => (x as { metadata: { name: string } }).metadata.name === "echoplex",
    );
    assert.ok(echoService !== undefined);
    assert.equal(flags.host, "echoplex", "against the Service");
    assert.equal(flags.port, config.port);
    const m = jobContainer("load-merge-job.yaml");
    assert.deepEqual(m.command, ["node", "dist/load/cli.js"]);
    assert.equal(m.args?.[0], "merge");
    const merged = mergeArgs(m.args?.slice(1) ?? []);
    assert.deepEqual(merged.files, ["/results"]);
    assert.notEqual(merged.slo, null, "the merge fails the Job when the SLO breaks");
    assert.deepEqual(
      [hpa.spec?.scaleTargetRef.kind, hpa.spec?.scaleTargetRef.name],
      ["Deployment", deployment.metadata?.name],
    );
    assert.ok(container?.resources?.requests?.cpu !== undefined, "CPU utilization needs a request");
  });

  it("declares the container ports the flags bind, on every address", () => {
    assert.equal(config.host, "0.0.0.0");
    assert.equal(portNamed("echo")?.containerPort, config.port);
    assert.equal(portNamed("echo-udp")?.containerPort, config.udp);
    assert.equal(portNamed("echo-udp")?.protocol, "UDP");
    assert.equal(portNamed("http")?.containerPort, config.http);
    assert.equal(portNamed("admin")?.containerPort, config.admin);
    assert.equal(config.adminHost, "0.0.0.0", "the kubelet probes from outside the pod");
  });

  it("probes paths the admin port serves: liveness /healthz, readiness /readyz", async (t) => {
    assert.equal(container?.livenessProbe?.httpGet?.path, "/healthz");
    assert.equal(container?.livenessProbe?.httpGet?.port, "admin");
    assert.equal(container?.readinessProbe?.httpGet?.path, "/readyz");
    assert.equal(container?.readinessProbe?.httpGet?.port, "admin");
    const server = await serve(t, ["--admin", "0"]);
    const admin = server.listening.admin as number;
    for (const probe of [container?.livenessProbe, container?.readinessProbe]) {
      const res = await fetch(`http://${HOST}:${admin}${probe?.httpGet?.path}`);
      assert.equal(res.status, 200, probe?.httpGet?.path);
    }
    assert.equal((await fetch(`http://${HOST}:${admin}/nope`)).status, 404);
  });

  it("drains in a preStop hook and gives the drain time to end before SIGKILL", () => {
    const command = container?.lifecycle?.preStop?.exec?.command?.join(" ") ?? "";
    assert.match(command, /kill -TERM 1\b/, "the preStop starts the drain (PID 1 is echoplex)");
    const pause = Number(/sleep (\d+)/.exec(command)?.[1] ?? 0);
    assert.ok(
      (pod?.terminationGracePeriodSeconds ?? 30) > pause + config.drainTimeout,
      "terminationGracePeriodSeconds > preStop pause + --drain-timeout",
    );
  });

  it("sizes requests for the workers it runs", () => {
    assert.equal(Number(container?.resources?.requests?.cpu), config.workers);
    assert.ok(container?.resources?.requests?.memory);
    assert.ok(container?.resources?.limits?.memory);
  });

  it("has Services for TCP echo, UDP echo, HTTP and metrics that select the pods", () => {
    const services = manifests("service.yaml").map((m) => new Service(m as never));
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    const names = new Set(container?.ports?.map((p) => p.name));
    const exposed = new Set<string>();
    for (const s of services) {
      for (const [k, v] of Object.entries(s.spec?.selector ?? {})) assert.equal(labels[k], v);
      for (const p of s.spec?.ports ?? []) {
        assert.ok(names.has(String(p.targetPort)), `${p.targetPort} is a container port name`);
        assert.equal(p.port, portNamed(String(p.targetPort))?.containerPort);
        exposed.add(String(p.targetPort));
      }
    }
    assert.deepEqual([...exposed].sort(), ["admin", "echo", "echo-udp", "http"]);
  });

  it("has a PodDisruptionBudget over the same pods", () => {
    const [pdb] = manifests("pdb.yaml").map((m) => new PodDisruptionBudget(m as never));
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(pdb?.spec?.selector?.matchLabels ?? {})) {
      assert.equal(labels[k], v);
    }
    assert.ok(pdb?.spec?.maxUnavailable !== undefined || pdb?.spec?.minAvailable !== undefined);
  });
});

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile");
  const json = (instruction: string): string[] =>
    JSON.parse(new RegExp(`^${instruction} (\\[.*\\])$`, "m").exec(dockerfile)?.[1] ?? "[]");

  it("runs Node 24 slim as a non-root user with production dependencies only", () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    assert.equal(froms.at(-1), "node:24-slim");
    const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
    assert.ok(user !== undefined && user !== "root" && user !== "0");
    const runtime = dockerfile.slice(dockerfile.lastIndexOf("FROM "));
    assert.match(runtime, /npm ci --omit=dev/);
  });

  it("installs every package src/ imports (production dependencies only)", () => {
    const pkg = JSON.parse(read("package.json")) as { dependencies: Record<string, string> };
    const imported = new Set<string>();
    const files = readdirSync(new URL("src/", root), { recursive: true, encoding: "utf8" });
    for (const file of files.filter((f) => f.endsWith(".ts"))) {
      // Import and export statements only (a doc comment may show `from "echoplex"`).
      for (const m of read(`src/${file}`).matchAll(
        /^(?:import|export) [^;]*?from "([^".][^"]*)"/gm,
      )) {
        const name = m[1] as string;
        if (!name.startsWith("node:"))
          imported.add(
            name.startsWith("@") ? name.split("/", 2).join("/") : (name.split("/")[0] as string),
          );
      }
    }
    assert.ok(imported.size > 0);
    for (const name of imported) assert.ok(name in pkg.dependencies, `${name} is a dependency`);
  });

  it("starts the published bin with flags the server accepts, and checks /healthz on its admin port", () => {
    const pkg = JSON.parse(read("package.json")) as { bin: { echoplex: string } };
    const [node, ...rest] = json("ENTRYPOINT");
    assert.equal(node, "node");
    assert.equal(rest.at(-1), pkg.bin.echoplex);
    // V8 flags only, and the ones every worker gets (the primary, or the single loop, too).
    assert.deepEqual(rest.slice(0, -1), [...WORKER_EXEC_ARGV]);
    const cmd = configOf(json("CMD"));
    const health = /HEALTHCHECK[\s\S]*?fetch\('http:\/\/127\.0\.0\.1:(\d+)(\/\w+)'\)/.exec(
      dockerfile,
    );
    assert.equal(Number(health?.[1]), cmd.admin);
    assert.equal(health?.[2], "/healthz");
    const exposed = new Set([...dockerfile.matchAll(/(\d+)\/(tcp|udp)/g)].map((m) => m[0]));
    for (const port of [`${cmd.port}/tcp`, `${cmd.http}/tcp`, `${cmd.udp}/udp`, `${cmd.admin}/tcp`])
      assert.ok(exposed.has(port), `EXPOSE ${port}`);
  });
});

describe("deploy/systemd", () => {
  const unit = read("deploy/systemd/echoplex.service");
  it("reloads with SIGHUP, stops with SIGTERM, and waits longer than the drain", () => {
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.match(unit, /^KillSignal=SIGTERM$/m);
    const start = /^ExecStart=\/usr\/bin\/env echoplex (.*)$/m.exec(unit)?.[1] ?? "";
    assert.deepEqual(start.split(" "), ["--config", "/etc/echoplex/config.json"]);
    const timeout = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
    assert.ok(timeout > configOf([]).drainTimeout, "TimeoutStopSec > the default --drain-timeout");
  });
});

describe("docs/DEPLOY.md", () => {
  /** Every shell command in the document's sh blocks, continuation lines joined, comments off. */
  const commands = [...read("docs/DEPLOY.md").matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((block) => (block[1] as string).replace(/\\\n\s*/g, "").split("\n"))
    .map((line) =>
      line
        .replace(/\s+#.*$/, "")
        .replace(/^#.*$/, "")
        .trim(),
    )
    .filter((line) => line !== "");
  const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
  const image = container?.image;
  /** The tag of a local `docker build` and `docker run`, as the Dockerfile's header has it. */
  const LOCAL_TAG = `echoplex:${(JSON.parse(read("package.json")) as { version: string }).version}`;

  it("runs only commands whose scripts, flags, files and image the tests check", () => {
    assert.ok(commands.length >= 5, commands.join("\n"));
    const exposed = new Set([...read("Dockerfile").matchAll(/(\d+)\/(tcp|udp)/g)].map((m) => m[0]));
    for (const command of commands) {
      const words = command.split(/\s+/);
      if (command.startsWith("npm run ")) {
        const script = words[2] as string;
        assert.ok(script in scripts, `${command}: npm run ${script} exists`);
        const args = words.slice(words.indexOf("--") + 1);
        // The load client's flags, parsed by its own parser (it throws on a bad or unknown one).
        if (script === "load") parseFlags("echoplex-load", LOAD_FLAGS, args);
        else if (script === "load:merge")
          // Its own parser (it throws on a bad flag or SLO), and report files only.
          assert.ok(
            mergeArgs(args).files.every((f) => f.endsWith(".json")),
            command,
          );
        else if (script === "test:fleet") assert.equal(words.length, 3, command);
        else assert.fail(`${command}: no check for npm run ${script}`);
      } else if (command.startsWith("export ECHOPLEX_IMAGE=")) {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: envsubst's placeholder, literally
        assert.equal(image, "${ECHOPLEX_IMAGE}", "the Deployment's image is the variable");
      } else if (command.startsWith("docker push ")) {
        assert.equal(words[2], '"$ECHOPLEX_IMAGE"');
      } else if (command.startsWith("envsubst ")) {
        assert.ok(
          [
            "envsubst '$ECHOPLEX_IMAGE' < deploy/kubernetes/deployment.yaml | kubectl apply -f -",
            "envsubst '$ECHOPLEX_IMAGE $LOAD_AT' < deploy/kubernetes/load-job.yaml | kubectl apply -f -",
            "envsubst '$ECHOPLEX_IMAGE' < deploy/kubernetes/load-merge-job.yaml | kubectl apply -f -",
          ].includes(command),
          command,
        );
      } else if (command.startsWith("export LOAD_AT=")) {
        assert.equal(
          jobContainer("load-job.yaml").env?.find((e) => e.name === "LOAD_AT")?.value,
          // biome-ignore lint/suspicious/noTemplateCurlyInString: envsubst's placeholder, literally
          "${LOAD_AT}",
        );
        assert.match(command, /\* 1000 \)\)$/, "epoch milliseconds, as --at takes them");
      } else if (command.startsWith("kubectl wait ") || command.startsWith("kubectl logs ")) {
        const job = words.find((w) => w.startsWith("job/"))?.slice(4);
        assert.ok(job === "echoplex-load" || job === "echoplex-load-merge", command);
        const jobs = ["load-job.yaml", "load-merge-job.yaml"].flatMap((f) =>
          manifests(f).filter((m) => m.kind === "Job"),
        );
        assert.ok(jobs.some((j) => (j as { metadata: { name: string } }).metadata.name === job));
      } else if (command.startsWith("docker build ")) {
        const tag = words[words.indexOf("-t") + 1];
        assert.ok(tag === '"$ECHOPLEX_IMAGE"' || tag === LOCAL_TAG, `${command}: the image`);
      } else if (command.startsWith("docker run ")) {
        assert.equal(words.at(-1), LOCAL_TAG);
        for (let i = words.indexOf("-p"); i >= 0; i = words.indexOf("-p", i + 1)) {
          const [, inside] = (words[i + 1] as string).split(":");
          const port = (inside as string).includes("/") ? inside : `${inside}/tcp`;
          assert.ok(exposed.has(port as string), `${command}: ${port} is exposed`);
        }
      } else if (command.startsWith("kubectl apply -f ")) {
        const files = words.filter((_, i) => words[i - 1] === "-f");
        assert.ok(
          [
            "deploy/kubernetes/service.yaml,deploy/kubernetes/pdb.yaml",
            "deploy/kubernetes/hpa.yaml",
          ].includes(files.join(",")),
          command,
        );
      } else {
        assert.fail(`a command in docs/DEPLOY.md that no test checks: ${command}`);
      }
    }
  });
});

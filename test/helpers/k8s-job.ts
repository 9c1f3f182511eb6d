/**
 * A Job's container as the command it runs: `$(VAR)` in its args expanded from its own `env` (as
 * the kubelet expands them), with `values` for what the cluster or envsubst would give
 * (LOAD_AT, JOB_COMPLETION_INDEX, ...). Used by test/deploy.test.ts to check the load Jobs'
 * flags, and by the fleet test to run those exact commands.
 */
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

interface Container {
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: { name: string; value?: string }[];
}

/** The documents of deploy/kubernetes/`file`, as plain objects. */
export function manifests(file: string): Record<string, unknown>[] {
  const text = readFileSync(new URL(`../../deploy/kubernetes/${file}`, import.meta.url), "utf8");
  return parseAllDocuments(text).map((d) => d.toJSON() as Record<string, unknown>);
}

/** The first container of the Job in `file`. */
export function jobContainer(file: string): Container {
  const job = manifests(file).find((m) => m.kind === "Job") as {
    spec: { template: { spec: { containers: Container[] } } };
  };
  return job.spec.template.spec.containers[0] as Container;
}

/** The container's args with `$(VAR)` expanded: `values` first, then its env's literal values. */
export function expandedArgs(c: Container, values: Record<string, string>): string[] {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  Object.assign(env, values);
  return (c.args ?? []).map((a) =>
    a.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole),
  );
}

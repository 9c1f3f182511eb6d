/**
 * Imported first by the CLI, so that it runs before the other modules: from here on SIGTERM,
 * SIGINT and SIGHUP no longer kill the primary with their default action (SIGHUP's is exit
 * 129). They are kept until the lifecycle takes them over (lifecycle.ts).
 */
export const SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

const pending: NodeJS.Signals[] = [];
const keep = (signal: NodeJS.Signals): void => {
  pending.push(signal);
};
for (const signal of SIGNALS) process.on(signal, keep);

/** Stop keeping signals; returns those that came meanwhile, in order. */
export function takeOverSignals(): NodeJS.Signals[] {
  for (const signal of SIGNALS) process.off(signal, keep);
  return pending.splice(0);
}

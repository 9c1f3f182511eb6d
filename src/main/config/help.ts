/**
 * The settings described for people, from the same table: `--help`, and docs/flags.md (which
 * `npm run docs` writes and test/docs.test.ts keeps equal to this).
 */
import type { Config } from "./config.ts";
import { MODES, SETTINGS } from "./settings.ts";

export function helpText(version: string): string {
  const lines = [
    `echoplex ${version}: an echo server (RFC 862 TCP and UDP, HTTP/1.1, HTTP/2, WebSocket) that scales over cores`,
    "",
    "usage: echoplex [flags]   (flags > ECHOPLEX_* variables > --config file > defaults)",
    "",
  ];
  for (const s of SETTINGS) {
    lines.push(`  --${s.flag.padEnd(15)} ${s.help} [${s.env}, default: ${describeDefault(s.key)}]`);
  }
  lines.push(
    `  --${"config".padEnd(15)} a JSON file of settings, keys as --print-config shows them [ECHOPLEX_CONFIG]`,
    `  --${"print-config".padEnd(15)} print the effective configuration as JSON and exit`,
    `  --${"help".padEnd(15)} print this and exit`,
    `  --${"version".padEnd(15)} print the version and exit`,
  );
  lines.push("", `modes: ${MODES.join(", ")}`);
  return lines.join("\n");
}

/**
 * docs/flags.md: every setting from the same table as --help (test/config.test.ts keeps the file
 * equal to this; `npm run docs` writes it).
 */
export function flagsMarkdown(): string {
  const cell = (text: string) => text.replaceAll("|", "\\|");
  const rows = SETTINGS.map(
    (s) => `| \`--${s.flag}\` | \`${s.env}\` | ${describeDefault(s.key)} | ${cell(s.help)} |`,
  );
  return [
    "# Flags",
    "",
    "Generated from `src/main/config/settings.ts` and `src/load/flags.ts` by `npm run docs`; a test keeps it current.",
    "",
    "## echoplex",
    "",
    "Each flag has an `ECHOPLEX_*` variable, and every setting can come from a JSON file (`--config FILE`, keys as `--print-config` prints them, `null` for off): a flag wins over its variable, which wins over the file, which wins over the default. Everything is checked before the server starts: a bad value, an unknown key or a value of the wrong type is one line naming it and what is allowed, exit 2. The library's `start()` takes the same settings by their `--print-config` names.",
    "",
    "| flag | variable | default | meaning |",
    "| --- | --- | --- | --- |",
    ...rows,
    "| `--config FILE` | `ECHOPLEX_CONFIG` | | a JSON object of settings, keys as `--print-config` shows them |",
    "| `--print-config` | | | print the effective configuration as JSON (a valid `--config` file) and exit |",
    "| `--help`, `--version` | | | print and exit |",
    "",
    `Modes: ${MODES.map((m) => `\`${m}\``).join(", ")} (README, "Modes").`,
    "",
  ].join("\n");
}

function describeDefault(key: keyof Config): string {
  if (key === "workers") return "available parallelism";
  const value = SETTINGS.find((s) => s.key === key)?.fallback();
  if (typeof value === "boolean") return value ? "on" : "off";
  if (value === null) return key === "work" ? "none" : "off";
  if (key === "maxBody" || key === "maxMessage" || key === "httpBuffer")
    return `${Number(value) / 1024 ** 2}MiB`;
  return String(value);
}

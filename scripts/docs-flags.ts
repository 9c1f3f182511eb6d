/** npm run docs:flags: write docs/flags.md from the settings table (src/main/config/config.ts). */
import { writeFileSync } from "node:fs";
import { flagsMarkdown } from "../src/main/config/config.ts";

writeFileSync(new URL("../docs/flags.md", import.meta.url), flagsMarkdown());

/** npm run docs: write the generated docs from their tables (flags, error codes). */
import { writeFileSync } from "node:fs";
import { errorsMarkdown } from "../src/errors.ts";
import { loadFlagsMarkdown } from "../src/load/flags.ts";
import { flagsMarkdown } from "../src/main/config/help.ts";

const flags = `${flagsMarkdown()}\n${loadFlagsMarkdown()}`;
writeFileSync(new URL("../docs/flags.md", import.meta.url), flags);
writeFileSync(new URL("../docs/errors.md", import.meta.url), errorsMarkdown());

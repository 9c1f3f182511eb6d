/** npm run docs: write the generated docs from their tables (flags, error codes). */
import { writeFileSync } from "node:fs";
import { errorsMarkdown } from "../src/errors.ts";
import { flagsMarkdown } from "../src/main/config/config.ts";

writeFileSync(new URL("../docs/flags.md", import.meta.url), flagsMarkdown());
writeFileSync(new URL("../docs/errors.md", import.meta.url), errorsMarkdown());

/**
 * Builds what the `dataflare` package ships into `dist/` (or `--outdir`):
 *
 * - the library (`scripts/build/library.ts`): `src/` and `dsl/` compiled by `tsc` to one ES module
 *   per file with `.d.ts`, declaration maps and source maps — what `package.json` `exports` name;
 * - the CLI (`scripts/build/cli.ts`): `dataflare.mjs` (the package's `bin`), `cli.mjs`, `chunks/`,
 *   `workers/` — one bundle, for its start-up time;
 * - `.built`: a stamp whose modification time is the time this build started; `bin/dataflare`
 *   (the checkout's launcher) runs the bundle only while no source file is newer than it.
 *
 * The repository's own tests, examples and `bin/dataflare` run the TypeScript sources (the
 * `dataflare-source` condition, see docs/architecture.md, "The package"); only the package needs
 * the build. Why two builds and not one: docs/architecture.md.
 *
 * Usage: `node scripts/build.ts [--outdir dir] [--only cli|library]`. The maps name the sources by
 * paths relative to the output, so a build meant for `npm pack` goes to the checkout's own `dist/`
 * (`npm pack` runs `prepare`, which builds there).
 */
import { rmSync, utimesSync, writeFileSync } from "node:fs"
import { relative, resolve } from "node:path"
import { parseArgs } from "node:util"
import { buildCli } from "./build/cli.ts"
import { buildLibrary } from "./build/library.ts"

const root = resolve(import.meta.dirname, "..")

const { values } = parseArgs({
  options: { outdir: { type: "string", default: "dist" }, only: { type: "string" } }
})
const outdir = resolve(process.cwd(), values.outdir)
const only = values.only
if (only !== undefined && only !== "cli" && only !== "library") {
  console.error(`build: --only takes cli or library, got ${only}`)
  process.exit(2)
}

const started = new Date()
rmSync(outdir, { recursive: true, force: true })
try {
  const cli = only === "library" ? [] : await buildCli(root, outdir)
  const library = only === "cli" ? [] : await buildLibrary(root, outdir)
  // bin/dataflare runs the bundle only while no source is newer than this stamp. It carries the
  // time the build started, so a source saved while the build ran also counts as newer.
  const stamp = resolve(outdir, ".built")
  writeFileSync(stamp, `${started.toISOString()}\n`)
  utimesSync(stamp, started, started)
  // on stderr: `npm pack --json` runs this as `prepare` and its stdout must stay JSON
  const where = relative(process.cwd(), outdir) || "."
  if (cli.length > 0) console.error(`built ${where}/: ${cli.join(", ")}`)
  if (library.length > 0) console.error(`built ${where}/: the library, ${library.filter((f) => f.endsWith(".js")).length} modules with declarations`)
} catch (error) {
  console.error(`build failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}

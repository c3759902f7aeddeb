/**
 * How the benchmarks start `dataflare`: the checkout's `bin/dataflare` (the bundle when it is up
 * to date, `npm run build`), or with `BENCH_CLI=/path/to/dataflare.mjs` that build — a copy of
 * `dist/`, so that editing the sources while a long benchmark runs does not switch it to them.
 */
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"

/** The command and arguments that run `dataflare` with `args`. */
export const dataflare = (args: ReadonlyArray<string>): [string, ReadonlyArray<string>] =>
  process.env.BENCH_CLI !== undefined
    ? [process.execPath, ["--no-warnings", process.env.BENCH_CLI, ...args]]
    : [join(process.cwd(), "bin", "dataflare"), args]

/**
 * Why the checkout's `bin/dataflare` would run the TypeScript sources rather than the bundle (no
 * build, or a source newer than it; several times the start-up), or `undefined` when it runs the
 * bundle or `BENCH_CLI` names a build.
 */
export const staleBundle = (): string | undefined => {
  if (process.env.BENCH_CLI !== undefined) return undefined
  const stamp = join(process.cwd(), "dist", ".built")
  if (!existsSync(stamp)) return "dist/ is not built"
  const built = statSync(stamp).mtimeMs
  for (const dir of ["src", "dsl"]) {
    for (const file of readdirSync(join(process.cwd(), dir), { recursive: true, encoding: "utf8" })) {
      if (statSync(join(process.cwd(), dir, file)).mtimeMs > built) return `${dir}/${file} is newer than dist/`
    }
  }
  return undefined
}

/**
 * How the benchmarks start `dataflare`: the checkout's `bin/dataflare` (the bundle when it is up
 * to date, `npm run build`), or with `BENCH_CLI=/path/to/dataflare.mjs` that build — a copy of
 * `dist/`, so that editing the sources while a long benchmark runs does not switch it to them.
 */
import { join } from "node:path"

/** The command and arguments that run `dataflare` with `args`. */
export const dataflare = (args: ReadonlyArray<string>): [string, ReadonlyArray<string>] =>
  process.env.BENCH_CLI !== undefined
    ? [process.execPath, ["--no-warnings", process.env.BENCH_CLI, ...args]]
    : [join(process.cwd(), "bin", "dataflare"), args]

/**
 * Scenario 5: memory. Peak RSS of the same CLI pipeline (CSV → filter → NDJSON, default settings:
 * `parallelism: auto` reads these files in byte ranges on the cores) on a small and a large input:
 * it must stay flat. Each size runs `rounds` times, alternating, and the median peak
 * counts: how high RSS climbs depends on when V8's old-generation collections fall in the run
 * (garbage promoted by young collections piles up to the heap's current limit, then a major
 * collection frees it), so one run's peak varies by tens of MB.
 */
import { execFileSync } from "node:child_process"
import { rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { dataflare } from "../lib/cli.ts"
import { csvFile, scratchDir } from "../lib/generate.ts"
import { median } from "../lib/stats.ts"


/** Runs the pipeline once under GNU time; returns its peak RSS and wall time. */
const measure = (rows: number): { readonly mb: number; readonly seconds: number } => {
  const dir = scratchDir()
  const workflow = join(dir, `memory-${rows}.yaml`)
  writeFileSync(
    workflow,
    [
      "name: bench-memory",
      "sources:",
      `  input: { type: csv, config: { path: "${csvFile(rows, "narrow")}", columns: { amount: number } } }`,
      "transformations:",
      "  f: { type: filter, inputs: [input], config: { condition: \"amount >= 500\" } }",
      "destinations:",
      `  out: { type: ndjson, inputs: [f], config: { path: "${join(dir, `memory-${rows}.ndjson`)}" } }`
    ].join("\n")
  )
  const t = performance.now()
  // GNU time writes the peak resident set size (KiB) to stderr; the run's own output is discarded
  const [command, args] = dataflare(["run", workflow, "--quiet"])
  const out = execFileSync("sh", ["-c", `/usr/bin/time -f PEAK_RSS_KB=%M ${[command, ...args].map((a) => `'${a}'`).join(" ")} 2>&1 >/dev/null | tail -1`], {
    encoding: "utf8"
  })
  const seconds = (performance.now() - t) / 1000
  // the output of 20 M rows is most of a GB of shared memory (/dev/shm)
  rmSync(join(dir, `memory-${rows}.ndjson`), { force: true })
  const kb = Number(/PEAK_RSS_KB=(\d+)/.exec(out)?.[1] ?? Number.NaN)
  return { mb: kb / 1024, seconds }
}

export const memory = async (small: number, large: number, rounds = 1): Promise<{ markdown: string; growthMb: number }> => {
  const as: Array<{ readonly mb: number; readonly seconds: number }> = []
  const bs: Array<{ readonly mb: number; readonly seconds: number }> = []
  for (let r = 0; r < rounds; r++) {
    as.push(measure(small))
    bs.push(measure(large))
  }
  const mid = (xs: ReadonlyArray<{ readonly mb: number; readonly seconds: number }>) => ({
    mb: median(xs.map((x) => x.mb)),
    seconds: median(xs.map((x) => x.seconds)),
    all: xs.map((x) => x.mb.toFixed(0)).join(", ")
  })
  const a = mid(as)
  const b = mid(bs)
  return {
    growthMb: b.mb - a.mb,
    markdown: [
      "### 5. Memory: peak RSS of CSV → filter → NDJSON (CLI)",
      "",
      `| rows | peak RSS MB (median of ${rounds}) | each run | wall s |`,
      "|---:|---:|---|---:|",
      `| ${small.toLocaleString("en")} | ${a.mb.toFixed(0)} | ${a.all} | ${a.seconds.toFixed(1)} |`,
      `| ${large.toLocaleString("en")} | ${b.mb.toFixed(0)} | ${b.all} | ${b.seconds.toFixed(1)} |`,
      "",
      `growth: ${(b.mb - a.mb).toFixed(0)} MB for ${(large / small).toFixed(0)}× the rows (target < 64 MB)`
    ].join("\n")
  }
}

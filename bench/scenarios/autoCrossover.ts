/**
 * Scenario 13: where a second range thread starts to pay. `dataflare run` of the matrix's narrow
 * CSV → filter (10 % kept) → NDJSON on files of 4 to 16 MiB, typed and untyped, at
 * `parallelism: 1` and `parallelism: 2`, alternating; the ratio is the 1-thread time over the
 * 2-thread time (above 1: two threads win). `auto` splits a csv file from 5 MiB per range
 * (`AUTO_RANGE_BYTES` in src/connectors/csv/CsvSource.ts), so two ranges from 10 MiB: the
 * crossover this measures should lie at or below that size. The same for the narrow NDJSON →
 * filter → NDJSON (10 % and 90 % kept) on files of 2 to 12 MiB: `auto` splits an ndjson file
 * from 5 MiB per range too (`AUTO_RANGE_BYTES` in src/connectors/ndjson/NdjsonSource.ts), so two
 * ranges from 10 MiB. Wall time: run it on a quiet machine.
 */
import { rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { dataflare } from "../lib/cli.ts"
import { scratchDir } from "../lib/generate.ts"
import { csvShape, ndjsonShape, predicates, typedColumns } from "../lib/shapes.ts"
import { median, timeCommand } from "../lib/stats.ts"

/** Narrow unquoted rows are about 50 bytes: rows for `mib` MiB (the table reports the real size). */
const rowsFor = (mib: number): number => Math.round((mib * 1024 * 1024) / 50)

const workflowFile = (dir: string, input: string, typed: boolean, parallelism: number): string => {
  const columns = typed ? `, columns: ${JSON.stringify(typedColumns("narrow"))}` : ""
  const condition = predicates(10, typed ? "amount" : "grade").dataflare
  const file = join(dir, `crossover-${typed ? "typed" : "untyped"}-p${parallelism}.yaml`)
  writeFileSync(
    file,
    [
      `name: bench-crossover`,
      `execution: { parallelism: ${parallelism} }`,
      "sources:",
      `  input: { type: csv, config: { path: ${JSON.stringify(input)}${columns} } }`,
      "transformations:",
      `  keep: { type: filter, inputs: [input], config: { condition: ${JSON.stringify(condition)} } }`,
      "destinations:",
      `  out: { type: ndjson, inputs: [keep], config: { path: ${JSON.stringify(join(dir, "crossover-out.ndjson"))} } }`
    ].join("\n")
  )
  return file
}

/** Narrow NDJSON lines are about 105 bytes: lines for `mib` MiB. */
const linesFor = (mib: number): number => Math.round((mib * 1024 * 1024) / 105)

const ndjsonWorkflow = (dir: string, input: string, kept: 10 | 90, parallelism: number): string => {
  const file = join(dir, `crossover-ndjson-${kept}-p${parallelism}.yaml`)
  writeFileSync(
    file,
    [
      `name: bench-crossover-ndjson`,
      `execution: { parallelism: ${parallelism} }`,
      "sources:",
      `  input: { type: ndjson, config: { path: ${JSON.stringify(input)} } }`,
      "transformations:",
      `  keep: { type: filter, inputs: [input], config: { condition: ${JSON.stringify(predicates(kept, "grade").dataflare)} } }`,
      "destinations:",
      `  out: { type: ndjson, inputs: [keep], config: { path: ${JSON.stringify(join(dir, "crossover-out.ndjson"))} } }`
    ].join("\n")
  )
  return file
}

/** The 1-thread and 2-thread medians of `rounds` alternating runs of two workflow files. */
const alternate = (one: string, two: string, rounds: number): { readonly t1: number; readonly t2: number } => {
  const t1: Array<number> = []
  const t2: Array<number> = []
  for (let r = 0; r < rounds; r++) {
    const a = () => t1.push(timeCommand(...dataflare(["run", one, "--quiet"])).seconds)
    const b = () => t2.push(timeCommand(...dataflare(["run", two, "--quiet"])).seconds)
    for (const step of r % 2 === 0 ? [a, b] : [b, a]) step()
  }
  return { t1: median(t1), t2: median(t2) }
}

/** Runs the scenario with `rounds` alternating rounds per size and returns its markdown. */
export const autoCrossover = async (rounds: number): Promise<{ markdown: string }> => {
  const dir = scratchDir()
  const lines = [
    "### 13. Where two range threads beat one: `parallelism: 1` vs `2`, narrow CSV → filter (10 %) → NDJSON, and NDJSON → filter → NDJSON",
    "",
    "| file | columns | 1 thread s (median) | 2 threads s (median) | 1 ÷ 2 |",
    "|---:|---|---:|---:|---:|"
  ]
  for (const mib of [4, 6, 8, 10, 12, 16]) {
    const input = csvShape(rowsFor(mib), "narrow", false, 12)
    const size = statSync(input).size / (1024 * 1024)
    for (const typed of [false, true]) {
      const one = workflowFile(dir, input, typed, 1)
      const two = workflowFile(dir, input, typed, 2)
      const { t1, t2 } = alternate(one, two, rounds)
      lines.push(`| ${size.toFixed(1)} MiB | ${typed ? "typed" : "untyped"} | ${t1.toFixed(3)} | ${t2.toFixed(3)} | ${(t1 / t2).toFixed(2)} |`)
    }
    rmSync(input, { force: true })
  }
  lines.push("", "`auto` reads a csv file in two ranges (on 2 cores) from 10 MiB on: the ratio should pass 1 near there.")
  lines.push(
    "",
    "NDJSON → filter → NDJSON (narrow lines):",
    "",
    "| file | kept | 1 thread s (median) | 2 threads s (median) | 1 ÷ 2 |",
    "|---:|---:|---:|---:|---:|"
  )
  for (const mib of [2, 4, 6, 8, 10, 12]) {
    const input = ndjsonShape(linesFor(mib), "narrow", 12)
    const size = statSync(input).size / (1024 * 1024)
    for (const kept of [10, 90] as const) {
      const { t1, t2 } = alternate(ndjsonWorkflow(dir, input, kept, 1), ndjsonWorkflow(dir, input, kept, 2), rounds)
      lines.push(`| ${size.toFixed(1)} MiB | ${kept} % | ${t1.toFixed(3)} | ${t2.toFixed(3)} | ${(t1 / t2).toFixed(2)} |`)
    }
    rmSync(input, { force: true })
  }
  rmSync(join(dir, "crossover-out.ndjson"), { force: true })
  lines.push("", "`auto` reads an ndjson file in two ranges (on 2 cores) from 10 MiB on: the ratio should pass 1 near there.")
  return { markdown: lines.join("\n") }
}

/**
 * Two builds of DataFlare against each other and against Miller on matrix shapes (scenario 10's
 * typed CSV → filter → NDJSON), alternating within each round, with wall and CPU seconds: how a
 * change to the per-row work is measured on a shared machine, where wall-clock ratios to Miller
 * move with the load (Miller runs several threads and suffers more from a loaded machine) but
 * CPU seconds and the A/B wall ratio of two builds run back to back hold better.
 *
 * ```sh
 * node bench/compareBuilds.ts A=/copy/of/old/dist/dataflare.mjs B=/copy/of/new/dist/dataflare.mjs \
 *   [--rows 1000000] [--rounds 3] [--shapes "narrow, typed, 10|wide, typed, 90"]
 * ```
 *
 * Each round generates the inputs from another seed; the outputs of A and B are compared (their
 * lines sorted: the ranges of a split interleave) and the run stops if they differ.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { scratchDir } from "./lib/generate.ts"
import { csvShape, type Kept, predicates, typedColumns, type Width } from "./lib/shapes.ts"
import { median, timeCommand } from "./lib/stats.ts"

const args = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback
}
const builds = args.filter((a) => /^[A-Za-z]\w*=/.test(a)).map((a) => ({ name: a.slice(0, a.indexOf("=")), cli: a.slice(a.indexOf("=") + 1) }))
if (builds.length === 0) throw new Error("name the builds to compare: NAME=/path/to/dataflare.mjs (one or more)")
const rows = Number(option("--rows", "1000000"))
const rounds = Number(option("--rounds", "3"))
const only = option("--shapes", "").split("|").filter((s) => s.length > 0)

interface Shape {
  readonly name: string
  readonly width: Width
  readonly quotes: boolean
  readonly kept: Kept
}
const shapes: Array<Shape> = (["narrow", "wide"] as const).flatMap((width) =>
  [false, true].flatMap((quotes) =>
    ([10, 33, 90] as const).map((kept) => ({ name: `${width}, typed, ${kept} % kept, ${quotes ? "quoted fields" : "no quotes"}`, width, quotes, kept }))
  )
).filter((s) => only.length === 0 || only.some((o) => s.name.includes(o)))

const dir = scratchDir()
const yaml = (input: string, shape: Shape, output: string): string =>
  [
    "name: compare",
    "sources:",
    `  input: { type: csv, config: { path: ${JSON.stringify(input)}, columns: ${JSON.stringify(typedColumns(shape.width))} } }`,
    "transformations:",
    `  keep: { type: filter, inputs: [input], config: { condition: ${JSON.stringify(predicates(shape.kept, "amount").dataflare)} } }`,
    "destinations:",
    `  out: { type: ndjson, inputs: [keep], config: { path: ${JSON.stringify(output)} } }`
  ].join("\n")

const sortedLines = (path: string): string => readFileSync(path, "utf8").split("\n").sort().join("\n")

const names = [...builds.map((b) => b.name), "Miller"]
process.stdout.write(`| shape | ${names.map((n) => `${n} s (median)`).join(" | ")} | ${names.map((n) => `${n} CPU s`).join(" | ")} | ${builds.map((b) => `${b.name} ÷ Miller`).join(" | ")} |\n`)
process.stdout.write(`|---|${names.map(() => "---:").join("|")}|${names.map(() => "---:").join("|")}|${builds.map(() => "---:").join("|")}|\n`)
for (const shape of shapes) {
  const wall = new Map<string, Array<number>>(names.map((n) => [n, []]))
  const cpu = new Map<string, Array<number>>(names.map((n) => [n, []]))
  for (let r = 0; r < rounds; r++) {
    const input = csvShape(rows, shape.width, shape.quotes, r + 1)
    try {
      const order = r % 2 === 0 ? names : [...names].reverse()
      for (const name of order) {
        const output = join(dir, `compare-${name}.out`)
        const build = builds.find((b) => b.name === name)
        let t: { readonly seconds: number; readonly cpuSeconds: number }
        if (build !== undefined) {
          const file = join(dir, `compare-${name}.yaml`)
          writeFileSync(file, yaml(input, shape, output))
          t = timeCommand(process.execPath, ["--no-warnings", build.cli, "run", file, "--quiet"])
        } else {
          const p = predicates(shape.kept, "amount").miller
          t = timeCommand("sh", ["-c", `mlr --icsv --ojsonl filter '${p}' '${input}' > '${output}'`])
        }
        wall.get(name)!.push(t.seconds)
        cpu.get(name)!.push(t.cpuSeconds)
      }
      const first = sortedLines(join(dir, `compare-${builds[0].name}.out`))
      for (const b of builds.slice(1)) {
        if (sortedLines(join(dir, `compare-${b.name}.out`)) !== first) throw new Error(`${shape.name}, seed ${r + 1}: ${b.name} wrote other lines than ${builds[0].name}`)
      }
    } finally {
      rmSync(input, { force: true })
      for (const n of names) rmSync(join(dir, `compare-${n}.out`), { force: true })
    }
  }
  const m = (n: string, of: Map<string, Array<number>>) => median(of.get(n)!)
  process.stdout.write(
    `| ${shape.name} | ${names.map((n) => m(n, wall).toFixed(2)).join(" | ")} | ${names.map((n) => m(n, cpu).toFixed(2)).join(" | ")} | ${
      builds.map((b) => `${(m("Miller", wall) / m(b.name, wall)).toFixed(2)}×`).join(" | ")
    } |\n`
  )
}

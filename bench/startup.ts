/**
 * Start-up of the CLI: `bin/dataflare` running the bundle (`dist/`, `npm run build`) against the
 * same launcher running the TypeScript sources (`DATAFLARE_FROM_SOURCE=1`, what it ran before the
 * bundle existed), alternately in one invocation: `--version`, `validate` of an example, and
 * scenario 1's workflow (CSV → filter → NDJSON) end to end.
 *
 * `npm run bench:startup` (builds first) or `node --no-warnings bench/startup.ts [--quick]
 * [--rounds n] [--rows n]`. Prints median wall and CPU seconds and the ratio bundle ÷ sources.
 */
import { writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { csvFile, scratchDir } from "./lib/generate.ts"
import { csvFilterWorkflow } from "./scenarios/csvFilter.ts"
import { machine, median, timeCommand } from "./lib/stats.ts"

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, rounds: { type: "string" }, rows: { type: "string" } }
})
const rounds = Number(values.rounds ?? (values.quick ? 5 : 15))
const rows = Number(values.rows ?? (values.quick ? 100_000 : 2_000_000))

const CLI = join(process.cwd(), "bin", "dataflare")
const example = join(process.cwd(), "examples", "csv-to-ndjson.yaml")

const input = csvFile(rows, "narrow")
const dir = scratchDir()
const workflow = join(dir, "startup-csv-filter.yaml")
writeFileSync(
  workflow,
  csvFilterWorkflow(input, join(dir, "out-startup.ndjson"), 1, "bench-startup-csv-filter")
)

interface Case {
  readonly name: string
  readonly args: ReadonlyArray<string>
  readonly rounds: number
}

const cases: ReadonlyArray<Case> = [
  { name: "--version", args: ["--version"], rounds },
  { name: "validate examples/csv-to-ndjson.yaml", args: ["validate", example], rounds },
  { name: `run scenario 1 (${rows.toLocaleString("en")} rows)`, args: ["run", workflow, "--quiet"], rounds: Math.max(3, Math.ceil(rounds / 2)) }
]

const modes = [
  { name: "sources", env: { ...process.env, DATAFLARE_FROM_SOURCE: "1" } },
  { name: "bundle", env: { ...process.env, DATAFLARE_FROM_SOURCE: "0" } }
] as const

const lines = [
  "### CLI start-up: bundle vs sources",
  "",
  `Machine: ${machine()}`,
  "",
  "| command | sources wall s | bundle wall s | bundle ÷ sources | sources CPU s | bundle CPU s | load (1 min) |",
  "|---|---:|---:|---:|---:|---:|---:|"
]
for (const c of cases) {
  const samples = modes.map(() => ({ wall: [] as Array<number>, cpu: [] as Array<number> }))
  const loads: Array<number> = []
  for (let r = 0; r < c.rounds; r++) {
    // A/B, then B/A: neither side always runs right after the other.
    const order = r % 2 === 0 ? [0, 1] : [1, 0]
    for (const i of order) {
      const t = timeCommand(CLI, c.args, { env: modes[i].env })
      samples[i].wall.push(t.seconds)
      samples[i].cpu.push(t.cpuSeconds)
      loads.push(loadavg()[0])
    }
  }
  const [src, bundle] = samples.map((s) => ({ wall: median(s.wall), cpu: median(s.cpu) }))
  lines.push(
    `| ${c.name} | ${src.wall.toFixed(3)} | ${bundle.wall.toFixed(3)} | ${(bundle.wall / src.wall).toFixed(2)} | ${src.cpu.toFixed(3)} | ${
      bundle.cpu.toFixed(3)
    } | ${median(loads).toFixed(2)} |`
  )
}
lines.push("", `Medians of ${rounds} alternating rounds (${cases[2].rounds} for the run).`)
console.log(lines.join("\n"))

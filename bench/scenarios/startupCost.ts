/**
 * Scenario 11: what a run costs before it reads a record. `dataflare run` of a CSV → filter →
 * NDJSON workflow on a header-only file against `node -e ""` on the same Node, alternating; the
 * difference is what every run pays (the bundled CLI: run `npm run build` first, or the sources
 * run and the difference is several times larger).
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { dataflare } from "../lib/cli.ts"
import { scratchDir } from "../lib/generate.ts"
import { median, timeCommand } from "../lib/stats.ts"


export const startupCost = async (rounds: number): Promise<{ markdown: string; costSeconds: number }> => {
  const dir = scratchDir()
  const input = join(dir, "startup-empty.csv")
  writeFileSync(input, "id,grade,amount\n")
  const workflow = join(dir, "startup-empty.yaml")
  writeFileSync(
    workflow,
    [
      "name: bench-startup-empty",
      "sources:",
      `  input: { type: csv, config: { path: ${JSON.stringify(input)}, columns: { id: integer, amount: number } } }`,
      "transformations:",
      "  keep: { type: filter, inputs: [input], config: { condition: \"amount < 330\" } }",
      "destinations:",
      `  out: { type: ndjson, inputs: [keep], config: { path: ${JSON.stringify(join(dir, "startup-empty.ndjson"))} } }`
    ].join("\n")
  )
  const node: Array<number> = []
  const run: Array<number> = []
  const runCpu: Array<number> = []
  for (let r = 0; r < rounds; r++) {
    const a = () => node.push(timeCommand(process.execPath, ["-e", ""]).seconds)
    const b = () => {
      const t = timeCommand(...dataflare(["run", workflow, "--quiet"]))
      run.push(t.seconds)
      runCpu.push(t.cpuSeconds)
    }
    for (const step of r % 2 === 0 ? [a, b] : [b, a]) step()
  }
  const cost = median(run) - median(node)
  return {
    costSeconds: cost,
    markdown: [
      "### 11. Start-up: `dataflare run` on a header-only CSV vs `node -e \"\"`",
      "",
      "| command | wall s (median) | CPU s (median) |",
      "|---|---:|---:|",
      `| node -e "" | ${median(node).toFixed(3)} | — |`,
      `| dataflare run (csv → filter → ndjson, empty input) | ${median(run).toFixed(3)} | ${median(runCpu).toFixed(3)} |`,
      "",
      `cost of a run before its first record: **${(cost * 1000).toFixed(0)} ms** (median of ${rounds} alternating rounds)`
    ].join("\n")
  }
}

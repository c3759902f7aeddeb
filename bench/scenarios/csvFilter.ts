/**
 * Scenario 1: CSV → filter → NDJSON through the CLI, vs Miller and vs a hand-written Node
 * pipeline doing the same work (on one thread, and on two worker threads), on the same generated
 * file.
 *
 * DataFlare runs the workflow a user would write for a big file on this machine: the source with
 * `parallelism: 2` (two worker threads, each parsing half of the file with the filter fused in;
 * see docs/connectors/csv.md). The same workflow with `parallelism: 1` runs as an extra row, so the
 * gain of the split shows in the same run. Output order differs between the two (ranges
 * interleave); the record counts are compared.
 */
import { execFileSync } from "node:child_process"
import { existsSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { csvFile, scratchDir, type Width } from "../lib/generate.ts"
import { alternate, type Contender, type Result, table, timeCommand } from "../lib/stats.ts"

const NODE = join(process.cwd(), "node_modules", ".bin", "node")
const CLI = join(process.cwd(), "bin", "dataflare")

const hasMiller = (): boolean => {
  try {
    execFileSync("mlr", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/** The scenario-1 workflow (CSV → filter → NDJSON) as YAML, shared with bench/startup.ts. */
export const csvFilterWorkflow = (input: string, output: string, parallelism: number, name = "bench-csv-filter"): string =>
  [
    `name: ${name}`,
    "execution: { batch_size: 2000, queue_capacity: 4 }",
    "sources:",
    "  input:",
    "    type: csv",
    `    parallelism: ${parallelism}`,
    `    config: { path: "${input}", columns: { id: integer, amount: number } }`,
    "transformations:",
    "  active:",
    "    type: filter",
    "    inputs: [input]",
    "    config: { condition: \"status == 'active' && amount >= 500\" }",
    "destinations:",
    "  out:",
    "    type: ndjson",
    "    inputs: [active]",
    `    config: { path: "${output}" }`
  ].join("\n")

export const csvFilter = async (rows: number, width: Width, rounds: number): Promise<{ markdown: string; results: ReadonlyArray<Result> }> => {
  const input = csvFile(rows, width)
  const dir = scratchDir()
  const workflow = join(dir, `csv-filter-${width}.yaml`)
  const workflowSerial = join(dir, `csv-filter-${width}-serial.yaml`)
  const outDataflare = join(dir, `out-dataflare-${width}.ndjson`)
  const outSerial = join(dir, `out-dataflare-serial-${width}.ndjson`)
  writeFileSync(workflow, csvFilterWorkflow(input, outDataflare, 2))
  writeFileSync(workflowSerial, csvFilterWorkflow(input, outSerial, 1))
  const contenders: Array<Contender> = [
    {
      name: "DataFlare (CLI, source parallelism: 2)",
      run: async () => {
        const t = timeCommand(CLI, ["run", workflow, "--quiet"])
        return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, records: rows }
      }
    },
    {
      name: "DataFlare (CLI, source parallelism: 1)",
      run: async () => {
        const t = timeCommand(CLI, ["run", workflowSerial, "--quiet"])
        return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, records: rows }
      }
    },
    {
      name: "hand-written Node stream pipeline",
      run: async () => {
        const t = timeCommand(NODE, [join("bench", "baselines", "node-csv-filter.ts"), input, join(dir, `out-node-${width}.ndjson`)])
        return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, records: rows }
      }
    },
    {
      name: "hand-written Node pipeline, two worker threads",
      run: async () => {
        const t = timeCommand(NODE, [join("bench", "baselines", "node-csv-filter-2workers.ts"), input, join(dir, `out-node2-${width}.ndjson`)])
        return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, records: rows }
      }
    }
  ]
  if (hasMiller()) {
    contenders.push({
      name: "Miller (mlr --icsv --ojsonl filter)",
      run: async () => {
        const t = timeCommand("sh", ["-c", `mlr --icsv --ojsonl filter '$status == "active" && $amount >= 500' '${input}' > '${join(dir, `out-mlr-${width}.ndjson`)}'`])
        return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, records: rows }
      }
    })
  }
  const results = await alternate(contenders, rounds)
  // the outputs must agree on the number of records
  const lines = (p: string) => (existsSync(p) ? execFileSync("wc", ["-l", p], { encoding: "utf8" }).trim().split(" ")[0] : "missing")
  const check = `records written: DataFlare ${lines(outDataflare)} (parallelism 1: ${lines(outSerial)}), Node ${lines(join(dir, `out-node-${width}.ndjson`))} (two workers: ${lines(join(dir, `out-node2-${width}.ndjson`))})${
    hasMiller() ? `, Miller ${lines(join(dir, `out-mlr-${width}.ndjson`))}` : " (Miller not installed: apt-get install miller)"
  }; input ${(statSync(input).size / 1e6).toFixed(0)} MB`
  return { markdown: `${table(`1. CSV → filter → NDJSON, ${rows.toLocaleString("en")} ${width} rows`, results)}\n\n${check}`, results }
}

/**
 * What the CLI's launcher does before it loads the CLI: for `dataflare run <workflow.yaml>`, it
 * guesses from the workflow file how many CSV range threads the run will start and starts them
 * (`warmRanges.ts`), so that their start-up (Node's worker bootstrap, 100–270 ms a thread on a
 * loaded machine) runs while the main thread loads its modules, reads the workflow and plans it,
 * instead of after.
 *
 * A guess, never a decision: the planner still decides (`autoParallelism.ts`); a source opening
 * takes a thread started ahead when one waits and starts one otherwise, and a thread not taken
 * waits without keeping the process alive. The guess follows the planner's rules in their common
 * form: a `csv` source with a `parallelism` of its own above 1, or under `execution.parallelism`
 * (a number, or `auto`: as many ranges as `autoRanges` gives the file on this machine's cores) —
 * except when its only consumer is a `postgres` sink (which takes the CSV bytes at parallelism 1).
 * Anything it cannot read (a DSL workflow, a path with variables, a YAML error): no threads.
 *
 * No Effect here: it runs before the CLI's modules are loaded.
 */
import { readFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { parse } from "yaml"
import { autoRanges, warmRanges } from "../../../src/connectors/csv/internal/warmRanges.ts"

type Entries = { readonly [name: string]: unknown }

const entries = (value: unknown): Entries =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Entries) : {}

/** The workflow file `dataflare run` is given in `args` (the arguments after the script), if it is YAML. */
const workflowOf = (args: ReadonlyArray<string>): string | undefined =>
  args[0] === "run" ? args.slice(1).find((a) => !a.startsWith("-") && /\.ya?ml$/.test(a)) : undefined

/** The range threads `dataflare run` of the YAML workflow `text` will likely start, with `cores` cores. */
export const guessRanges = (text: string, cores: number): number => {
  const doc = entries(parse(text))
  const workflowParallelism = entries(doc.execution).parallelism ?? "auto"
  const nodes = [entries(doc.sources), entries(doc.transformations), entries(doc.destinations)]
  let threads = 0
  for (const [id, raw] of Object.entries(entries(doc.sources))) {
    const source = entries(raw)
    const path = entries(source.config).path
    if (source.type !== "csv" || typeof path !== "string") continue
    const own = source.parallelism
    if (typeof own === "number") {
      if (own > 1) threads += own
      continue
    }
    if (typeof workflowParallelism === "number") {
      if (workflowParallelism > 1) threads += workflowParallelism
      continue
    }
    const consumers = nodes.flatMap((group) =>
      Object.values(group).map(entries).filter((n) => Array.isArray(n.inputs) && n.inputs.includes(id))
    )
    if (consumers.length === 1 && consumers[0].type === "postgres") continue
    const ranges = autoRanges(path, cores)
    if (ranges > 1) threads += ranges
  }
  return threads
}

/** Starts the range threads `dataflare` called with `args` will likely need (see the module's documentation). */
export const warmFor = (args: ReadonlyArray<string>): void => {
  const workflow = workflowOf(args)
  if (workflow === undefined) return
  try {
    const text = readFileSync(workflow, "utf8")
    // (a workflow without a csv source: not even parsed)
    if (!text.includes("csv")) return
    const threads = guessRanges(text, availableParallelism())
    if (threads > 0) warmRanges(threads)
  } catch {
    // the CLI reads the workflow again and reports what is wrong with it
  }
}

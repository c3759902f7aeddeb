/**
 * What the dead-letter tests write, read back and run: a run directory's input and workflow, the
 * records of an NDJSON file the run wrote, and a YAML workflow run with its plan.
 */
import { readFileSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as PlanFormat from "../../src/PlanFormat.ts"
import * as Runtime from "../../src/Runtime.ts"

/** One NDJSON record as read back. */
export type Row = { readonly [k: string]: unknown }

const parse = (text: string): Array<Row> =>
  text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Row)

/** The records of the NDJSON file at `path` (which must exist). */
export const ndjsonRows = (path: string): Array<Row> => parse(readFileSync(path, "utf8"))

/** The records of the NDJSON file at `path`; none when there is no such file (yet). */
export const ndjsonRowsIfAny = (path: string): Array<Row> => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch {
    return []
  }
  return parse(text)
}

/** {@link ndjsonRowsIfAny} as an Effect. */
export const readNdjsonIfAny = (path: string): Effect.Effect<ReadonlyArray<Row>> => Effect.sync(() => ndjsonRowsIfAny(path))

/** Parses the workflow text (as `wf.yaml`), prepares it, then runs it with the built-ins: its plan as text and its summary. */
export const runYaml = (text: string) =>
  Effect.gen(function*() {
    const graph = yield* Yaml.parse(text, { file: "wf.yaml", env: {} })
    const plan = PlanFormat.text(Runtime.plan(yield* Runtime.prepare(graph)))
    const summary = yield* Runtime.run(graph)
    return { plan, summary }
  }).pipe(Effect.provide(Builtins.layer))

/** Writes `recordOf(id)` for ids 1 to `rows` to `dir/in.ndjson`, one a line, and the workflow's `lines` to `dir/wf.yaml`. */
export const writeRun = (dir: string, rows: number, recordOf: (id: number) => unknown, lines: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.promise(async () => {
    const out: Array<string> = []
    for (let id = 1; id <= rows; id++) out.push(JSON.stringify(recordOf(id)))
    await writeFile(join(dir, "in.ndjson"), out.join("\n") + "\n")
    await writeFile(join(dir, "wf.yaml"), lines.join("\n"))
  })

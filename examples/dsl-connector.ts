/**
 * A third-party connector that tells DataFlare what it can run and what it writes, so that
 * `validate` (and `run`, before opening anything) refuses a workflow it would get wrong.
 *
 *   node_modules/.bin/node examples/dsl-connector.ts [records]
 *
 * The `jsonl-append` sink appends one JSON line per record to a file. It declares
 * `maxParallelism: 1` (one file, one writer: the workflow's `execution.parallelism` of 3 applies to
 * the filter, not to it) and the file it writes (`resources`), so two sinks on one file — here
 * `out.jsonl` and `./out.jsonl` — are refused before anything is written.
 */
import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Schema } from "effect"
import { Batch, Builtins, Connector, Errors, PlanFormat, Registry, Runtime } from "dataflare"
import { Memory, Pipeline, Spec, Workflow } from "dataflare/dsl"

const count = Math.min(Number(process.argv[2] ?? 1000), 100_000)

/** The connector: a config Schema, what it can do, what it writes, and the writer. */
// #region declarations
const JsonlAppend = Connector.sink({
  type: "jsonl-append",
  description: "appends records to a file as JSON lines",
  config: Schema.Struct({ path: Schema.NonEmptyString }),
  capabilities: () => ({ guarantee: "at-least-once", transactional: false, maxParallelism: 1 }),
  resources: (config) => ({ writes: [{ kind: "file", name: config.path, key: ["path"] }] }),
  check: () => Effect.void,
  open: (config) =>
    Effect.succeed({
      writeBatch: (batch) =>
        Effect.tryPromise({
          try: () => appendFile(config.path, Batch.toArray(batch).map((r) => JSON.stringify(r) + "\n").join("")),
          catch: (cause) =>
            new Errors.ConnectorError({
              connector: "jsonl-append",
              operation: "write",
              reason: new Errors.RejectedError({ message: String(cause), cause })
            })
        }).pipe(Effect.as({ written: Batch.size(batch) })),
      flush: Effect.void
    })
})
// #endregion declarations

const jsonl = (path: string) => Spec.sink<{ readonly id: number }>("jsonl-append", { path })

const program = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-connector-"))),
    (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
  )
  const out = join(dir, "out.jsonl")
  const records = Array.from({ length: count }, (_, i) => ({ id: i }))

  // 1. Parallelism 3 for the workflow: the filter runs three instances, the sink one.
  const pipeline = Pipeline.from("numbers", Memory.source({ records }))
    .named("connector-example")
    .execution({ parallelism: 3 })
    .filter("even", (r) => r.id % 2 === 0)
    .to("out", jsonl(out))
  const plan = Runtime.plan(yield* Runtime.prepare(pipeline))
  for (const line of PlanFormat.text(plan).split("\n").filter((l) => /^ {2}(stateless|sink):/.test(l))) {
    yield* Console.log(line.trim().split(", reads")[0])
  }
  const summary = yield* Pipeline.run(pipeline)
  const written = (yield* Effect.promise(() => readFile(out, "utf8"))).split("\n").filter((l) => l.length > 0).length
  yield* Console.log(`ran: ${summary.nodes.find((n) => n.id === "numbers")?.recordsOut} records read, ${written} lines in out.jsonl`)

  // 2. Two sinks on one file (written two ways): refused before anything is opened.
  const twice = Workflow.make("two-writers")
    .source("numbers", Memory.source({ records }))
    .sink("a", ["numbers"], jsonl(join(dir, "twice.jsonl")))
    .sink("b", ["numbers"], jsonl(`${dir}/./twice.jsonl`))
    .build()
  const refused = yield* Effect.flip(Runtime.run(twice))
  if (refused instanceof Errors.DefinitionError) {
    for (const issue of refused.issues) yield* Console.log(`refused: ${Errors.formatIssue(issue).replaceAll(dir, "<dir>")}`)
  }
  const exists = yield* Effect.promise(() => readFile(join(dir, "twice.jsonl"), "utf8").then(() => true, () => false))
  yield* Console.log(`twice.jsonl written: ${exists}`)
}).pipe(Effect.scoped, Effect.provide(Registry.layer([...Builtins.definitions, JsonlAppend])))

NodeRuntime.runMain(program)

/**
 * Typed errors in the DSL: every step's errors are in the pipeline's type, and a pipeline started
 * with `{ strict: true }` does not compile at `.to` until each one is handled. Reads orders from
 * memory, prices them with a flaky "rates service" (fails twice, then answers: `.retry`), replaces
 * a batch the service rejects (`.catchTag`), sends the records an expression cannot evaluate to a
 * dead-letter sink (`.deadLetter`: an NDJSON file of envelopes), and restarts on a connector
 * failure (`.restartOnFailure`).
 *
 *   node_modules/.bin/node examples/dsl-typed-errors.ts [record count]
 *
 * Remove any one handler and `.to(...)` is a compile error naming the unhandled error's tag
 * (`Timeout`, `Rejected`, `RecordError` or `ConnectorError`). See docs/dsl.md.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Schedule, Schema } from "effect"
import { Memory, Ndjson, Pipeline } from "dataflare/dsl"
import { Builtins } from "dataflare"

class Timeout extends Schema.TaggedError<Timeout>()("Timeout", { attempt: Schema.Number }) {}
class Rejected extends Schema.TaggedError<Rejected>()("Rejected", { size: Schema.Number }) {}

const count = Number(process.argv[2] ?? 1_000)

const program = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-typed-errors-"))),
    (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
  )
  const output = join(dir, "priced.ndjson")
  const letters = join(dir, "rejects.ndjson")

  // Every 50th order's amount is "n/a": the expression `amount > 0` fails on it (a RecordError).
  const orders: Array<{ readonly id: number; readonly amount: number | string }> = []
  for (let i = 1; i <= count; i++) orders.push({ id: i, amount: i % 50 === 0 ? "n/a" : i % 300 })

  let calls = 0
  let rejected = 0
  const price = (
    orders: ReadonlyArray<{ readonly id: number; readonly amount: number }>
  ): Effect.Effect<ReadonlyArray<{ id: number; eur: number }>, Timeout | Rejected> =>
    Effect.gen(function*() {
      calls += 1
      if (calls <= 2) return yield* new Timeout({ attempt: calls })
      if (orders.some((o) => o.amount > 295)) return yield* new Rejected({ size: orders.length })
      return orders.map((o) => ({ id: o.id, eur: Math.round(o.amount * 92) / 100 }))
    })

  // strict: `.to` compiles only when every error below has a policy
  const pipeline = Pipeline.from("orders", Memory.source({ records: orders }), { strict: true })
    .named("dsl-typed-errors")
    .execution({ batch_size: 100 })
    .restartOnFailure({ type: "fixed-delay", attempts: 3, delay: "1s" })
    .filter("positive", "amount > 0")
    // each record the expression fails on, as an envelope (node, error, record, source, position)
    .deadLetter("rejects", Ndjson.sink({ path: letters }))
    .map("typed", (o) => ({ id: o.id, amount: Number(o.amount) }))
    .process("priced", price)
    // Handlers wrap the step in order: a rejection is handled first (never retried), then what
    // is left (Timeout) is retried.
    .catchTag("Rejected", (e) => {
      rejected += e.size // this batch is left out, counted
      return []
    })
    .retry(Schedule.recurs(5))
    .to("out", Ndjson.sink({ path: output }))

  const summary = yield* Pipeline.run(pipeline).pipe(Effect.provide(Builtins.layer))
  const lines = (path: string) => Effect.promise(() => readFile(path, "utf8").then((t) => t.split("\n").filter((l) => l.length > 0), () => []))
  yield* Console.log(`workflow ${summary.workflow}: ${count} orders read`)
  yield* Console.log(`priced: ${(yield* lines(output)).length} written, ${rejected} rejected, 2 timeouts retried`)
  const rejects = (yield* lines(letters)).map((l) => JSON.parse(l) as Pipeline.DeadLetterEnvelope)
  yield* Console.log(`dead letters: ${rejects.length} (${[...new Set(rejects.map((e) => `${e.node}: ${e.tag}`))].join(", ")})`)
})

NodeRuntime.runMain(Effect.scoped(program))

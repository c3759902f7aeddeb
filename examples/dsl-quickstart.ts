/**
 * DSL quick start: generate a CSV of orders in a temp dir, keep the active large ones, reshape
 * them, write NDJSON, print what went through every node.
 *
 *   node_modules/.bin/node examples/dsl-quickstart.ts [record count]
 *
 * Every step is typed: `r` is `{ id: number; customer: string; status: string; amount: number;
 * country: string }` after the CSV source (from its `columns`), and the NDJSON sink accepts any
 * record. Try `.select("slim", ["id", "price"])` — `price` is not a field, so it does not compile.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Csv, Ndjson, Pipeline } from "dataflare/dsl"
import { Builtins } from "dataflare"

const count = Number(process.argv[2] ?? 10_000)

const program = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-quickstart-"))),
    (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
  )
  const input = join(dir, "orders.csv")
  const output = join(dir, "large-orders.ndjson")

  // 1. Sample input: `count` orders.
  const countries = ["DE", "FR", "US", "JP"]
  let csv = "id,customer,status,amount,country\n"
  for (let i = 1; i <= count; i++) {
    csv += `${i},Customer ${i % 97},${i % 5 === 0 ? "cancelled" : "active"},${(i * 37) % 500},${countries[i % 4]}\n`
  }
  yield* Effect.promise(() => writeFile(input, csv))

  // 2. The pipeline: a WorkflowGraph value, typed step by step.
  const pipeline = Pipeline.from(
    "orders",
    Csv.source({
      path: input,
      columns: { id: "integer", customer: "string", status: "string", amount: "number", country: "string" },
      required: ["id", "amount"]
    })
  )
    .named("dsl-quickstart")
    .filter("active", (r) => r.status === "active")
    .filter("large", "amount >= 250")
    .map("reshaped", (r) => ({ id: r.id, customer: r.customer.toLowerCase(), country: r.country, gross: r.amount * 1.2 }))
    .to("out", Ndjson.sink({ path: output }))

  // 3. Run it with the built-in connectors and processors.
  const summary = yield* Pipeline.run(pipeline).pipe(Effect.provide(Builtins.layer))

  const lines = (yield* Effect.promise(() => readFile(output, "utf8"))).split("\n").filter((l) => l.length > 0)
  yield* Console.log(`workflow ${summary.workflow}: ${count} records read, ${lines.length} written in ${summary.durationMs} ms`)
  for (const node of summary.nodes) {
    yield* Console.log(`  ${node.id.padEnd(10)} ${node.kind.padEnd(9)} ${node.type.padEnd(7)} in ${node.recordsIn} out ${node.recordsOut}`)
  }
  yield* Console.log(`first record: ${lines[0]}`)
})

NodeRuntime.runMain(Effect.scoped(program))

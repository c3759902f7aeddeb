/**
 * `npm start`: the DataFlare demo. Needs no server.
 *
 * Generates a sample CSV of orders (default 1,000,000 rows) in a temp dir, keeps the active
 * orders of 100 or more, reshapes them, writes NDJSON, and prints what went through every node and
 * how fast. While it runs it serves the dashboard, Prometheus metrics and health checks on
 * http://127.0.0.1:4195 (another port if that one is taken) and prints where to look.
 *
 *   npm start                         # 1,000,000 rows
 *   npm start -- 100000               # another size
 *   npm start -- 100000 --keep        # keep the output folder and print its path
 *   npm start -- 20000000 --hold      # a longer run; keep the dashboard up after it until Ctrl-C
 */
import { mkdtempSync, openSync, rmSync, statSync, writeSync, closeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { Csv, Ndjson, Pipeline } from "dataflare/dsl"
import { Builtins, Observability } from "dataflare"

const args = process.argv.slice(2)
const rows = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000)
const keep = args.includes("--keep")
const hold = args.includes("--hold")

/** Where to look while it runs (printed once the server listens). */
const announce = (url: string) =>
  Console.log(
    `watch it while it runs:\n  dashboard  ${url}/\n  metrics    ${url}/metrics   (health: ${url}/ready)\n  terminal   ./bin/dataflare top ${url}`
  )

/** The observability server on 127.0.0.1:4195, or on a free port when that one is taken. */
const observability = Layer.catchTag(
  Observability.layer({ port: 4195, onListen: announce }),
  "ObservabilityError",
  () => Observability.layer({ port: 0, onListen: announce })
)

/** Writes `rows` sample orders, 1 MB at a time. */
const generate = (path: string): void => {
  const statuses = ["active", "active", "active", "cancelled", "pending"]
  const countries = ["DE", "FR", "US", "JP", "BR", "NZ"]
  const fd = openSync(path, "w")
  let chunk = "id,customer,status,amount,country,note\n"
  for (let i = 1; i <= rows; i++) {
    const note = i % 10 === 0 ? `"gift, wrapped ""nicely"""` : ""
    chunk += `${i},Customer ${i % 997},${statuses[i % 5]},${((i * 7919) % 50_000) / 100},${countries[i % 6]},${note}\n`
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk)
      chunk = ""
    }
  }
  writeSync(fd, chunk)
  closeSync(fd)
}

const program = Effect.gen(function*() {
  const dir = mkdtempSync(join(tmpdir(), "dataflare-demo-"))
  const input = join(dir, "orders.csv")
  const output = join(dir, "orders.ndjson")
  generate(input)
  yield* Console.log(`generated ${rows.toLocaleString("en")} orders (${(statSync(input).size / 1e6).toFixed(1)} MB) in ${dir}`)

  const pipeline = Pipeline.from(
    "orders",
    Csv.source({
      path: input,
      columns: { id: "integer", customer: "string", status: "string", amount: "number", country: "string", note: "string" },
      required: ["id", "amount"]
    })
  )
    .named("demo")
    .filter("active", "status == 'active' && amount >= 100")
    .map("reshape", (r) => ({ id: r.id, customer: r.customer.toLowerCase(), country: r.country, gross: Math.round(r.amount * 119) / 100 }))
    .to("out", Ndjson.sink({ path: output }))

  const summary = yield* Pipeline.run(pipeline)
  const seconds = summary.durationMs / 1000
  yield* Console.log(`\nworkflow '${summary.workflow}' finished in ${seconds.toFixed(2)} s — ${Math.round(rows / seconds).toLocaleString("en")} records/s read`)
  yield* Console.log("node       kind       type     records in  records out")
  for (const n of summary.nodes) {
    yield* Console.log(`${n.id.padEnd(10)} ${n.kind.padEnd(10)} ${n.type.padEnd(8)} ${String(n.recordsIn).padStart(11)}  ${String(n.recordsOut).padStart(11)}`)
  }
  yield* Console.log(`\noutput: ${(statSync(output).size / 1e6).toFixed(1)} MB of NDJSON${keep ? ` at ${output}` : ""}`)
  if (!keep) rmSync(dir, { recursive: true, force: true })
  if (hold) {
    yield* Console.log("\nthe dashboard stays up with the final numbers: Ctrl-C quits")
    yield* Effect.never
  }
}).pipe(Effect.provide([Builtins.layer, observability]))

NodeRuntime.runMain(program)

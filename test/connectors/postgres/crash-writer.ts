/**
 * A child process for the exactly-once crash tests: writes batches 0–1 through the `postgres` sink,
 * commits checkpoint 1, writes batch 2 and (`window`) batch 3 with checkpoint 2 pre-committed but
 * never committed, prints `ready` and waits to be killed.
 *
 *   node --experimental-strip-types crash-writer.ts <connection> <table> <checkpoint table> [window]
 */
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { PostgresSink } from "../../../src/connectors/postgres/PostgresSink.ts"
import { decodeAll } from "../../../src/internal/decode.ts"

const [url, table, checkpointTable, variant] = process.argv.slice(2)
const rows = (from: number) => Array.from({ length: 100 }, (_, i) => ({ id: from + i, name: `v${from + i}` }))

const program = Effect.gen(function*() {
  const decoded = decodeAll(PostgresSink.config, { connection_string: url, table, checkpoint_table: checkpointTable, workflow: "crash" })
  if (!decoded.ok) return yield* Effect.die(new Error(JSON.stringify(decoded.issues)))
  const writer = yield* PostgresSink.open(decoded.value, { node: "out", batchSize: 100, instance: 0, parallelism: 1 })
  yield* writer.restore!(undefined)
  yield* writer.writeBatch(Batch.make(rows(0)))
  yield* writer.writeBatch(Batch.make(rows(100)))
  yield* writer.flush
  yield* writer.preCommit!(1)
  yield* writer.commit!(1)
  yield* writer.writeBatch(Batch.make(rows(200)))
  if (variant === "window") {
    yield* writer.writeBatch(Batch.make(rows(300)))
    yield* writer.preCommit!(2)
  }
  yield* Effect.sync(() => process.stdout.write("ready\n"))
  yield* Effect.never
})

void Effect.runPromise(Effect.scoped(program))

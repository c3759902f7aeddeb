/**
 * An Effect `Queue` fed by the application, as the source of a pipeline into PostgreSQL: the app
 * offers its orders to the queue while the pipeline runs (`Streams.source(Stream.fromQueue(q))`),
 * the pipeline drops the invalid ones, converts the amounts to cents and writes them with COPY.
 * A full pipeline slows the app: the queue is bounded, and the source reads it no faster than
 * PostgreSQL takes the rows. The run ends when the app ends the queue.
 *
 *   node_modules/.bin/node --conditions=dataflare-source examples/dsl-queue-to-postgres.ts [order count]
 *
 * It needs a PostgreSQL server: `DATAFLARE_PG_URL` (default postgres://postgres@127.0.0.1:5432/test).
 * It works in a schema of its own, dropped at the end.
 */
import { NodeRuntime } from "@effect/platform-node"
import { type Cause, Console, Effect, Queue, Stream } from "effect"
import pg from "pg"
import { Builtins } from "dataflare"
import { Pipeline, Postgres, Streams } from "dataflare/dsl"

const count = Number(process.argv[2] ?? 10_000)
const url = process.env.DATAFLARE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** An order as the application has it. */
interface Order {
  readonly id: number
  readonly customer: string
  readonly amount: number
}

/** One statement on a short-lived connection. */
const sql = (text: string) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      return (await client.query(text)).rows as ReadonlyArray<{ readonly [column: string]: unknown }>
    } finally {
      await client.end()
    }
  })

const program = Effect.gen(function*() {
  const schema = `queue_example_${process.pid}`
  yield* Effect.acquireRelease(sql(`CREATE SCHEMA ${schema}`), () => sql(`DROP SCHEMA ${schema} CASCADE`))

  // The application's queue: bounded, so a slow pipeline slows whoever offers to it.
  const queue = yield* Queue.bounded<Order, Cause.Done>(1_000)

  const pipeline = Pipeline.from("app_orders", Streams.source(Stream.fromQueue(queue)))
    .named("queue-to-postgres")
    .filter("valid", (o) => o.amount > 0)
    .map("cents", (o) => ({ id: o.id, customer: o.customer, amount_cents: Math.round(o.amount * 100) }))
    .to(
      "db",
      Postgres.sink<{ id: number; customer: string; amount_cents: number }>({
        connection_string: url,
        table: `${schema}.orders`,
        create_table: true,
        columns: { id: "integer", customer: "text", amount_cents: "bigint" },
        // the sink's record of the checkpoints it committed, in the example's schema too
        checkpoint_table: `${schema}.dataflare_checkpoints`
      })
    )

  // The application offers its orders while the pipeline runs, then ends the queue.
  const app = Effect.gen(function*() {
    for (let i = 1; i <= count; i++) {
      yield* Queue.offer(queue, { id: i, customer: `customer ${i % 13}`, amount: i % 10 === 0 ? 0 : (i % 200) / 4 })
    }
    yield* Queue.end(queue)
  })
  const [summary] = yield* Effect.all([Pipeline.run(pipeline), app], { concurrency: "unbounded" })

  const [row] = yield* sql(`SELECT count(*)::int AS orders, sum(amount_cents)::bigint AS cents FROM ${schema}.orders`)
  yield* Console.log(`workflow ${summary.workflow}: ${count} orders offered, ${row.orders} rows in ${schema}.orders`)
  yield* Console.log(`total: ${row.cents} cents`)
  for (const node of summary.nodes) {
    yield* Console.log(`  ${node.id.padEnd(11)}${node.kind.padEnd(10)}in ${node.recordsIn} out ${node.recordsOut}`)
  }
}).pipe(Effect.provide(Builtins.layer))

NodeRuntime.runMain(Effect.scoped(program))

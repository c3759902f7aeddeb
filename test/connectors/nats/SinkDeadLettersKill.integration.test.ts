/**
 * Dead letters of the exactly-once `nats` sink across kill -9 and resume, in a real `dataflare
 * run`: an NDJSON file into a JetStream stream whose `max_msg_size` refuses some records, their
 * dead letters going to a PostgreSQL table (`dead_letter: { to }`, exactly-once). The run is
 * SIGKILLed twice at checkpoints, then run to the end: every good record is in the stream once
 * (the records replayed after a restore keep their message ids although dead letters sit between
 * them, so JetStream drops them as duplicates), every refused one is in the table once, with the
 * stream's reason.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { killAt, start } from "../../cli/killRun.ts"
import { tempDir } from "../../cli/support.ts"
import { sql, URL, withSchema } from "../postgres/support.ts"
import { nats, type Nats } from "./support.ts"

const ROWS = 40_000
/** Larger than the stream's max_msg_size (1024 bytes). */
const isBad = (id: number) => id % 97 === 5
const all = Array.from({ length: ROWS }, (_, k) => k + 1)

/** A stream refusing messages over 1024 bytes, deleted with the scope. */
const stream = (n: Nats) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const name = `DFTEST_NATS_DLQ_KILL_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`.toUpperCase()
      await n.jsm.streams.add({ name, subjects: [`${name}.>`], max_msg_size: 1024 })
      return name
    }),
    (name) => Effect.promise(() => n.jsm.streams.delete(name).then(() => undefined, () => undefined))
  )

/** The `id` of every message of the stream, in order (an ordered consumer, fetched in batches). */
const ids = (n: Nats, name: string) =>
  Effect.promise(async () => {
    const total = (await n.jsm.streams.info(name)).state.messages
    const consumer = await n.js.consumers.get(name)
    const out: Array<number> = []
    while (out.length < total) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 })
      for await (const m of batch) out.push((m.json() as { readonly id: number }).id)
    }
    return out
  })

describe("nats sink: dead letters to an exactly-once destination across kill -9 and resume", () => {
  it.live("every good record in the stream once, every refused one in the table once", () =>
    Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n)
      const schema = yield* withSchema("nats_sink_dlq")
      yield* sql(
        `CREATE TABLE ${schema}.rejects (node text NOT NULL, at timestamptz NOT NULL, tag text, source text, position jsonb, error text NOT NULL, detail jsonb, record jsonb NOT NULL)`
      )
      const dir = yield* tempDir
      yield* Effect.promise(async () => {
        await writeFile(join(dir, "in.ndjson"), all.map((id) => JSON.stringify({ id, pad: isBad(id) ? "x".repeat(2000) : "" })).join("\n") + "\n")
        await writeFile(
          join(dir, "wf.yaml"),
          [
            "name: nats-sink-dlq-kill",
            "execution: { batch_size: 250, checkpoint_interval: 20ms }",
            "sources:",
            "  input: { type: ndjson, config: { path: in.ndjson } }",
            "destinations:",
            `  out: { type: nats, inputs: [input], config: { servers: "127.0.0.1:4222", subject: ${name}.out, on_error: dead_letter, dead_letter: { to: rejects } } }`,
            `  rejects: { type: postgres, inputs: [], config: { connection_string: "${URL}", table: ${schema}.rejects, checkpoint_table: ${schema}.chk } }`
          ].join("\n")
        )
      })
      const first = yield* killAt(dir, yield* start(dir), 1)
      const second = yield* killAt(dir, yield* start(dir), first + 3)
      assert.isTrue(second > first)
      const partial = (yield* Effect.promise(() => n.jsm.streams.info(name))).state.messages
      assert.isBelow(partial, all.filter((id) => !isBad(id)).length, "the killed runs had not published everything")
      const last = yield* (yield* start(dir)).ended
      assert.strictEqual(last.code, 0, last.stderr)
      assert.deepStrictEqual(yield* ids(n, name), all.filter((id) => !isBad(id)), "every good record once, in order")
      const rows = yield* sql<{ id: number; n: string; node: string; error: string; subject: string }>(
        `SELECT (record->>'id')::int AS id, count(*) AS n, min(node) AS node, min(error) AS error, min(detail->>'subject') AS subject FROM ${schema}.rejects GROUP BY 1 ORDER BY 1`
      )
      assert.deepStrictEqual(rows.filter((r) => Number(r.n) !== 1), [], "no letter twice")
      assert.deepStrictEqual(rows.map((r) => r.id), all.filter(isBad))
      for (const r of rows) {
        assert.strictEqual(r.node, "out")
        assert.strictEqual(r.subject, `${name}.out`)
        assert.match(r.error, /the stream refused the message: message size exceeds maximum allowed/)
      }
    }).pipe(Effect.scoped), 240_000)
})

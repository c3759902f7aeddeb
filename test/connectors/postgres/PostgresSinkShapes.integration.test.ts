/**
 * One rule per record, whatever the batching: a field a record leaves out (absent or `undefined`)
 * leaves its column unchanged on an upsert's update and gives it its default on insert; a field
 * set to `null` writes NULL. Random records with random field sets, written with random batch
 * boundaries (and checkpoints), must give the table a model gets by applying them one by one.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type * as Connector from "../../../src/Connector.ts"
import { PostgresSink, type SinkRecord } from "../../../src/connectors/postgres/PostgresSink.ts"
import { context, decode, sql, URL, withSchema } from "./support.ts"

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Row = { id: number; a: string | null; b: number | null; c: string | null }
const DEFAULTS = { a: null, b: 7, c: "d" } as const
const FIELDS = ["a", "b", "c"] as const

/** A record of `id` with a random subset of the fields (each present one possibly null, some undefined). */
const randomImage = (rnd: () => number, id: number, n: number): SinkRecord => {
  const image: { [k: string]: unknown } = { id }
  for (const f of FIELDS) {
    const pick = rnd()
    if (pick < 0.35) continue // absent
    if (pick < 0.42) image[f] = undefined // present but undefined: absent too
    else if (pick < 0.5) image[f] = null
    else image[f] = f === "b" ? n : `${f}${n}`
  }
  return image
}

/** Random batch boundaries over `n` records. */
const splits = (rnd: () => number, n: number): ReadonlyArray<readonly [number, number]> => {
  const out: Array<readonly [number, number]> = []
  for (let i = 0; i < n;) {
    const size = 1 + Math.floor(rnd() * 12)
    out.push([i, Math.min(n, i + size)])
    i += size
  }
  return out
}

const applyModel = (model: Map<number, Row>, image: SinkRecord, mode: "insert" | "upsert") => {
  const id = image.id as number
  const old = mode === "upsert" ? model.get(id) : undefined
  const row: Row = old !== undefined ? { ...old } : { id, ...DEFAULTS }
  for (const f of FIELDS) {
    const v = image[f]
    if (v !== undefined) (row as { [k: string]: unknown })[f] = v
  }
  model.set(mode === "upsert" ? id : model.size + 1000, row)
}

const run = (schema: string, config: object, batches: ReadonlyArray<ReadonlyArray<SinkRecord>>, checkpointEvery: number) =>
  Effect.gen(function*() {
    const writer: Connector.SinkWriter<SinkRecord> = yield* PostgresSink.open(
      decode(PostgresSink.config, { connection_string: URL, checkpoint_table: `${schema}.cp`, ...config }),
      context("out")
    )
    yield* writer.restore!(undefined)
    let checkpoint = 0
    for (const [i, batch] of batches.entries()) {
      yield* writer.writeBatch(Batch.make(batch))
      if ((i + 1) % checkpointEvery === 0 || i === batches.length - 1) {
        checkpoint++
        yield* writer.preCommit!(checkpoint)
        yield* writer.commit!(checkpoint)
      }
    }
  }).pipe(Effect.scoped)

const TABLE = `(id int, a text, b int DEFAULT 7, c text DEFAULT 'd')`

describe("PostgresSink: a record's absent fields, whatever the batching", () => {
  for (const seed of [1, 2, 3]) {
    it.effect(`upsert (plain records and change records with deletes) and insert agree with the one-by-one model (seed ${seed})`, () =>
      Effect.gen(function*() {
        const schema = yield* withSchema("df_sink_shapes")
        const rnd = prng(seed)
        const n = 120
        // plain rows over 15 keys, so that keys repeat within and across batches
        const images = Array.from({ length: n }, (_, i) => randomImage(rnd, 1 + Math.floor(rnd() * 15), i))
        const model = new Map<number, Row>()
        for (const image of images) applyModel(model, image, "upsert")
        // change records: upserts and deletes
        const changes: Array<SinkRecord> = []
        const changeModel = new Map<number, Row>()
        for (let i = 0; i < n; i++) {
          const id = 1 + Math.floor(rnd() * 10)
          if (rnd() < 0.2) {
            changes.push({ op: "delete", before: { id }, after: null })
            changeModel.delete(id)
          } else {
            const after = randomImage(rnd, id, i)
            changes.push({ op: changeModel.has(id) ? "update" : "insert", before: null, after })
            applyModel(changeModel, after, "upsert")
          }
        }
        const inserted = new Map<number, Row>()
        for (const image of images) applyModel(inserted, image, "insert")
        for (const [k, [input, want, config]] of ([
          [images, model, { mode: "upsert", key: ["id"] }],
          [changes, changeModel, { mode: "upsert", key: ["id"] }],
          [images, inserted, { mode: "insert" }],
          [images, inserted, { mode: "insert", guarantee: "at-least-once" }],
          [images, inserted, { mode: "insert", two_phase: "prepared" }]
        ] as const).entries()) {
          const table = `${schema}.t${k}`
          yield* sql(`CREATE TABLE ${table} ${TABLE}`)
          if (config.mode === "upsert") yield* sql(`ALTER TABLE ${table} ADD PRIMARY KEY (id)`)
          const bounds = splits(rnd, input.length)
          yield* run(schema, { ...config, table, workflow: `shapes-${k}` }, bounds.map(([from, to]) => input.slice(from, to)), 1 + Math.floor(rnd() * 3))
          const got = yield* sql<Row>(`SELECT id, a, b, c FROM ${table} ORDER BY id, a NULLS FIRST, b NULLS FIRST, c NULLS FIRST`)
          const expected = [...want.values()].sort((x, y) =>
            x.id - y.id || cmp(x.a, y.a) || cmp(x.b, y.b) || cmp(x.c, y.c)
          )
          assert.deepStrictEqual(got, expected, `${JSON.stringify(config)}, batches ${JSON.stringify(bounds)}`)
        }
      }).pipe(Effect.scoped), 60_000)
  }
})

/** Orders as PostgreSQL does with NULLS FIRST (text by code point is enough for these values). */
const cmp = (x: string | number | null, y: string | number | null): number =>
  x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1

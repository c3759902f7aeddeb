/**
 * Dead letters of stateful and batch processors (`on_error: dead_letter` on `aggregate`,
 * `dedupe` and a pure `process`): a bad record — a missing or unreadable event time, a field an
 * op cannot add, a user reducer's or function's failure — is set aside before it changes the
 * keyed state, so the output is the output of the same run without the bad records, and the bad
 * records are in the dead letters (a file, or a destination `to`) with node, tag, error, source
 * and position.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Ndjson from "../../src/connectors/ndjson/index.ts"
import { processSpec } from "../../src/processors/process.ts"
import * as Stateful from "../../src/processors/stateful.ts"
import * as Runtime from "../../src/Runtime.ts"
import { tempDir } from "../connectors/csv/support.ts"
import { ndjsonRows, runYaml } from "./ndjsonRuns.ts"

interface Order {
  readonly id: number
  readonly country: string
  readonly amount: unknown
  readonly ts?: unknown
}

const T0 = Date.parse("2026-12-05T10:00:00Z")

/** 60 orders over 6 minutes, two countries; `bad` ones break in the ways a processor fails on. */
const orders = (): ReadonlyArray<Order & { readonly bad: boolean }> => {
  const out: Array<Order & { readonly bad: boolean }> = []
  for (let id = 1; id <= 60; id++) {
    const country = id % 3 === 0 ? "fr" : "de"
    const ts = T0 + id * 6_000
    if (id === 7) out.push({ id, country, amount: "lots", ts, bad: true }) // sum needs a number
    else if (id === 19) out.push({ id, country, amount: 5, bad: true }) // no event time
    else if (id === 30) out.push({ id, country, amount: 5, ts: "yesterday-ish", bad: true }) // unreadable time
    // far in the future with a bad amount: taken, it would move the watermark and fire every window
    else if (id === 41) out.push({ id, country, amount: { n: 1 }, ts: T0 + 86_400_000, bad: true })
    else out.push({ id, country, amount: id % 7, ts, bad: false })
  }
  return out
}

const writeInput = (path: string, records: ReadonlyArray<Order & { readonly bad: boolean }>) =>
  writeFileSync(path, records.map(({ bad: _, ...r }) => JSON.stringify(r)).join("\n") + "\n")

/** A workflow reading `input`, running `node` (its YAML line), writing `out`, maybe `rejects`. */
const workflow = (dir: string, input: string, node: string, options: { readonly parallelism?: number; readonly rejects?: boolean } = {}) =>
  [
    "name: stateful-dead-letters",
    `execution: { batch_size: 8, parallelism: ${options.parallelism ?? 1} }`,
    "sources:",
    `  input: { type: ndjson, config: { path: ${join(dir, input)} } }`,
    "transformations:",
    `  agg: ${node}`,
    "destinations:",
    `  out: { type: ndjson, inputs: [agg], config: { path: ${join(dir, `out-${input}`)} } }`,
    ...(options.rejects === true ? [`  rejects: { type: ndjson, inputs: [], config: { path: ${join(dir, "rejects.ndjson")} } }`] : [])
  ].join("\n")

const AGGREGATE = "type: aggregate, inputs: [input], config: { group_by: [country], time_field: ts, window: { type: tumbling, size: 1m }, max_out_of_orderness: 10s, " +
  "aggregates: { n: { op: count }, total: { op: sum, field: amount }, top: { op: max, field: amount } } }"

/** Sorted by the window and the group (several instances emit in any interleaving). */
const byWindow = (rows: ReadonlyArray<{ readonly [k: string]: unknown }>) =>
  [...rows].sort((a, b) => `${String(a.window_start)}|${String(a.country)}`.localeCompare(`${String(b.window_start)}|${String(b.country)}`))

/** Writes the input with and without its bad records, for a run to compare with. */
const inputs = (dir: string) => {
  const all = orders()
  writeInput(join(dir, "all.ndjson"), all)
  writeInput(join(dir, "clean.ndjson"), all.filter((o) => !o.bad))
  return all.filter((o) => o.bad).map((o) => o.id)
}

describe("dead letters of stateful processors", () => {
  for (const parallelism of [1, 2]) {
    it.live(`aggregate (parallelism ${parallelism}): bad records to a file; the output is the run's without them`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const bad = inputs(dir)
        const letters = join(dir, "agg.dead.ndjson")
        const { plan, summary } = yield* runYaml(
          workflow(dir, "all.ndjson", `{ ${AGGREGATE}, on_error: dead_letter, dead_letter: { path: ${letters} } }`, { parallelism })
        )
        yield* runYaml(workflow(dir, "clean.ndjson", `{ ${AGGREGATE} }`, { parallelism }))
        assert.include(plan, `dead letters → ${letters}`)
        const got = ndjsonRows(join(dir, "out-all.ndjson"))
        assert.isAbove(got.length, 10)
        assert.deepStrictEqual(byWindow(got), byWindow(ndjsonRows(join(dir, "out-clean.ndjson"))))
        const entries = ndjsonRows(letters)
        assert.deepStrictEqual(entries.map((e) => (e.record as Order).id).sort((a, b) => a - b), bad)
        const of = (id: number) => entries.find((e) => (e.record as Order).id === id)!
        assert.strictEqual(of(7).node, "agg")
        assert.strictEqual(of(7).tag, "RecordError")
        assert.strictEqual(of(7).source, "input")
        assert.isDefined(of(7).position)
        assert.include(String(of(7).error), "sum needs a number")
        assert.include(String(of(19).error), "event-time field is missing")
        assert.include(String(of(30).error), "expected an event time")
        assert.include(String(of(41).error), "sum needs a number, got an object")
        assert.strictEqual(summary.nodes.find((n) => n.id === "agg")?.deadLetters, bad.length)
      })))
  }

  it.live("aggregate without a window, dead letters to a destination (to): envelopes in the destination, totals without the bad records", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const bad = inputs(dir)
      const global = "type: aggregate, inputs: [input], config: { group_by: [country], aggregates: { n: { op: count }, total: { op: sum, field: amount }, mean: { op: avg, field: amount } } }"
      const { plan } = yield* runYaml(workflow(dir, "all.ndjson", `{ ${global}, on_error: dead_letter, dead_letter: { to: rejects } }`, { rejects: true }))
      yield* runYaml(workflow(dir, "clean.ndjson", `{ ${global} }`))
      assert.include(plan, "dead letters → destination rejects")
      // 7 and 41 have amounts sum cannot add; 19 and 30 have no time, which this aggregate does not read
      const summed = [7, 41]
      const expected = orders().filter((o) => !summed.includes(o.id))
      const de = expected.filter((o) => o.country === "de")
      const got = ndjsonRows(join(dir, "out-all.ndjson"))
      assert.deepStrictEqual(got.find((r) => r.country === "de")?.n, de.length)
      assert.deepStrictEqual(got.find((r) => r.country === "de")?.total, de.reduce((s, o) => s + Number(o.amount), 0))
      assert.isTrue(bad.length > summed.length)
      const envelopes = ndjsonRows(join(dir, "rejects.ndjson"))
      assert.deepStrictEqual(envelopes.map((e) => (e.record as Order).id).sort((a, b) => a - b), summed)
      assert.deepStrictEqual(Object.keys(envelopes[0]).sort(), ["at", "detail", "error", "node", "position", "record", "source", "tag"])
      assert.strictEqual(envelopes[0].node, "agg")
      assert.strictEqual(envelopes[0].source, "input")
    })))

  it.live("dedupe: a record without a readable time is set aside before it registers its key; the output is the run's without it", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const rows = [
        { id: 1, k: "a", ts: T0 },
        { id: 2, k: "b", ts: "soon" }, // bad: its key must not be remembered
        { id: 3, k: "b", ts: T0 + 1_000 },
        { id: 4, k: "a", ts: T0 + 2_000 }, // a repeat of 1
        { id: 5, k: "c", ts: T0 + 9_999_999 + 1e15 }, // fine, far ahead
        { id: 6, k: "c" }, // bad: no time
        { id: 7, k: "d", ts: T0 + 3_000 }, // late behind 5's watermark: dropped as without dead letters
        { id: 8, k: "b", ts: T0 + 4_000 }
      ]
      const bad = [2, 6]
      writeFileSync(join(dir, "all.ndjson"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n")
      writeFileSync(join(dir, "clean.ndjson"), rows.filter((r) => !bad.includes(r.id)).map((r) => JSON.stringify(r)).join("\n") + "\n")
      const dedupe = "type: dedupe, inputs: [input], config: { key: [k], time_field: ts, window: 1h }"
      const letters = join(dir, "dedupe.dead.ndjson")
      yield* runYaml(workflow(dir, "all.ndjson", `{ ${dedupe}, on_error: dead_letter, dead_letter: { path: ${letters} } }`))
      yield* runYaml(workflow(dir, "clean.ndjson", `{ ${dedupe} }`))
      const got = ndjsonRows(join(dir, "out-all.ndjson")).map((r) => r.id)
      assert.deepStrictEqual(got, ndjsonRows(join(dir, "out-clean.ndjson")).map((r) => r.id))
      assert.deepStrictEqual(got, [1, 3, 5])
      assert.deepStrictEqual(ndjsonRows(letters).map((e) => (e.record as { id: number }).id), bad)
    })))

  it.live("a user reducer that throws in a sliding window (two panes per record): no pane and no other aggregate took the record", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const all = orders().filter((o) => !o.bad)
      const thrown = (o: Order) => o.id % 11 === 0
      const letters = join(dir, "agg.dead.ndjson")
      class ReducerError extends Error {
        override readonly name = "ReducerError"
      }
      const run = (records: ReadonlyArray<Order>, out: string, dead: boolean) => {
        writeInput(join(dir, `${out}.in.ndjson`), records.map((r) => ({ ...r, bad: false })))
        const pipeline = Pipeline.from("input", Ndjson.source({ path: join(dir, `${out}.in.ndjson`) }))
          .execution({ batch_size: 8 })
          .via(
            "agg",
            Stateful.aggregate({
              group_by: ["country"],
              time_field: "ts",
              window: { type: "sliding", size: "2m", slide: "1m" },
              aggregates: {
                total: { op: "sum", field: "amount" },
                ids: {
                  reducer: Stateful.reducer({
                    init: () => [] as ReadonlyArray<number>,
                    add: (s, r) => {
                      if (thrown(r as Order)) throw new ReducerError(`no id ${(r as Order).id}`)
                      return [...s, (r as Order).id]
                    },
                    result: (s) => s.join(",")
                  })
                }
              }
            }),
            dead ? { on_error: "dead_letter", dead_letter: { path: letters } } : {}
          )
          .to("out", Ndjson.sink({ path: join(dir, `${out}.ndjson`) }))
        return Pipeline.run(pipeline).pipe(Effect.provide(Builtins.layer))
      }
      const summary = yield* run(all, "all", true)
      yield* run(all.filter((o) => !thrown(o)), "clean", false)
      const got = ndjsonRows(join(dir, "all.ndjson"))
      assert.isAbove(got.length, 8)
      assert.deepStrictEqual(got, ndjsonRows(join(dir, "clean.ndjson")))
      const entries = ndjsonRows(letters)
      assert.deepStrictEqual(entries.map((e) => [(e.record as Order).id, e.tag, e.error]), all.filter(thrown).map((o) => [o.id, "ReducerError", `no id ${o.id}`]))
      assert.strictEqual(summary.nodes.find((n) => n.id === "agg")?.deadLetters, all.filter(thrown).length)
    })))
})

describe("dead letters of a pure batch function (process)", () => {
  class PriceError extends Error {
    override readonly name = "PriceError"
  }
  const price = (records: ReadonlyArray<{ readonly [field: string]: unknown }>) =>
    Effect.suspend(() => {
      const wrong = records.find((r) => typeof r.amount !== "number")
      return wrong !== undefined
        ? Effect.fail(new PriceError(`no price for order ${String(wrong.id)}`))
        : Effect.succeed(records.map((r) => ({ id: r.id, gross: Number(r.amount) * 1.19 })))
    })

  it.live("a failed batch is bisected: the records it fails on alone go to the dead letters, the others' output goes on in order", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const all = orders()
      writeInput(join(dir, "in.ndjson"), all)
      const letters = join(dir, "priced.dead.ndjson")
      const pipeline = Pipeline.from("input", Ndjson.source({ path: join(dir, "in.ndjson") }))
        .execution({ batch_size: 8 })
        .via("priced", processSpec(price, { pure: true }), { on_error: "dead_letter", dead_letter: { path: letters } })
        .to("out", Ndjson.sink({ path: join(dir, "out.ndjson") }))
      const summary = yield* Pipeline.run(pipeline).pipe(Effect.provide(Builtins.layer))
      const good = all.filter((o) => typeof o.amount === "number")
      assert.deepStrictEqual(ndjsonRows(join(dir, "out.ndjson")), good.map((o) => ({ id: o.id, gross: Number(o.amount) * 1.19 })))
      const entries = ndjsonRows(letters)
      assert.deepStrictEqual(entries.map((e) => [(e.record as Order).id, e.tag, e.error]), [[7, "PriceError", "no price for order 7"], [41, "PriceError", "no price for order 41"]])
      assert.strictEqual(entries[0].source, "input")
      assert.strictEqual(summary.nodes.find((n) => n.id === "priced")?.deadLetters, 2)
    })))

  it.live("dead letters to a destination (to): the graph the DSL builds, its node sending them to an NDJSON destination", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const all = orders()
      writeInput(join(dir, "in.ndjson"), all)
      const pipeline = Pipeline.from("input", Ndjson.source({ path: join(dir, "in.ndjson") }))
        .execution({ batch_size: 16 })
        .via("priced", processSpec(price, { pure: true }))
        .to("out", Ndjson.sink({ path: join(dir, "out.ndjson") }))
      // the DSL's options take a path only (so far): set `to` on the graph it builds
      const built = Pipeline.toGraph(pipeline)
      const rejects = Pipeline.toGraph(Pipeline.from("x", Ndjson.source({ path: "x" })).to("rejects", Ndjson.sink({ path: join(dir, "rejects.ndjson") })))
        .nodes.find((n) => n.id === "rejects")!
      const graph = {
        ...built,
        nodes: [
          ...built.nodes.map((n) => (n.id === "priced" ? { ...n, on_error: "dead_letter" as const, dead_letter: { to: "rejects" } } : n)),
          { ...rejects, inputs: [] }
        ]
      }
      const summary = yield* Runtime.run(graph).pipe(Effect.provide(Builtins.layer))
      assert.deepStrictEqual(ndjsonRows(join(dir, "out.ndjson")).map((r) => r.id), all.filter((o) => typeof o.amount === "number").map((o) => o.id))
      const envelopes = ndjsonRows(join(dir, "rejects.ndjson"))
      assert.deepStrictEqual(envelopes.map((e) => [e.node, e.tag, (e.record as Order).id]), [["priced", "PriceError", 7], ["priced", "PriceError", 41]])
      assert.strictEqual(envelopes[0].source, "input")
      assert.strictEqual(summary.nodes.find((n) => n.id === "priced")?.deadLetters, 2)
    })))

  it.effect("refused for a process not declared pure (its failure names no record), saying how to declare it", () =>
    Effect.gen(function*() {
      const pipeline = Pipeline.from("input", Ndjson.source({ path: "/tmp/dlq2-none.ndjson" }))
        .process("priced", price, { on_error: "dead_letter", dead_letter: { path: "/tmp/dlq2-none.dead.ndjson" } })
        .to("out", Ndjson.sink({ path: "/tmp/dlq2-none.out.ndjson" }))
      const refused = yield* Effect.flip(Pipeline.run(pipeline).pipe(Effect.provide(Builtins.layer)))
      assert.include(refused.message, "priced")
      assert.include(refused.message, "pure: true")
    }))
})

/**
 * Several nodes sending their dead letters to one destination (issue #16): chained stateless
 * nodes are fused into one task with one dead-letter port per node, all read by that sink. The
 * run must see every barrier and the end of that task once per instance, however many of its
 * ports the destination reads — it used to hang forever at its first checkpoint or its end.
 *
 * The same holds for any consumer reading several ports of one task (an aggregate's windows and
 * its `late` records into one destination hung the same way).
 *
 * The source here holds back its second half until the test has taken two checkpoints, so every
 * run checkpoints with barriers crossing the fused chain and the destination mid-run.
 */
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schema } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Batch from "../../src/Batch.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Connector from "../../src/Connector.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import { tempDir } from "../connectors/csv/support.ts"
import { ndjsonRowsIfAny } from "./ndjsonRuns.ts"

const COUNT = 400

/** Whether record `id` has an amount no comparison takes (`bad <id>`). */
const badAmount = (id: number) => id % 10 === 3
/** Whether record `id` has a quantity no product takes (`two`). */
const badQty = (id: number) => id % 10 === 7

/** Gates the test opens: a gated source reads past its half only once its gate is open. */
const opened = new Set<string>()

/**
 * Records `{ id, group, amount, qty, ts }` for id in [0, count), instances by stride, seekable by
 * index; with `bad`, some amounts and quantities are strings (see `badAmount`, `badQty`). With
 * a `gate`, each instance stops at its half (empty reads) until the test opens the gate.
 */
const Orders = Connector.source({
  type: "gated_orders_test",
  description: "orders, held at half way until the test opens the gate",
  config: Schema.Struct({ count: Schema.Int, gate: Schema.String, bad: Schema.Boolean }),
  capabilities: () => ({ seekable: true, unbounded: false }),
  check: () => Effect.void,
  open: (config, ctx) =>
    Effect.sync(() => {
      let next = ctx.instance
      const origin = () => ({ origin: { source: ctx.node, position: next } })
      return {
        readBatch: (max: number) =>
          Effect.suspend(() => {
            if (next >= config.count) return Effect.succeed(undefined)
            if (next >= config.count / 2 && !opened.has(config.gate)) return Effect.as(Effect.sleep(1), Batch.make([], origin()))
            const records: Array<unknown> = []
            while (records.length < max && next < config.count && (next < config.count / 2 || opened.has(config.gate))) {
              const id = next
              records.push({
                id,
                group: id % 3,
                amount: config.bad && badAmount(id) ? `bad ${id}` : id % 50,
                qty: config.bad && badQty(id) ? "two" : 2,
                // every 17th a minute behind: late for a window that has fired
                ts: id % 17 === 0 ? id * 1000 - 60_000 : id * 1000
              })
              next += ctx.parallelism
            }
            return Effect.succeed(Batch.make(records, origin()))
          }),
        position: Effect.sync(() => next),
        seek: (p) => Effect.sync(() => void (next = Number(p))),
        commit: () => Effect.void
      }
    })
})

const registry = Registry.layer([...Builtins.definitions, Orders as Registry.Definition])

const ids = (all: ReadonlyArray<number>) => [...all].sort((a, b) => a - b)
const range = (pred: (id: number) => boolean) => Array.from({ length: COUNT }, (_, id) => id).filter(pred)

/** The record ids of the envelopes of `node` in the destination file. */
const lettersOf = (path: string, node: string) =>
  ids(ndjsonRowsIfAny(path).filter((e) => e.node === node).map((e) => Number((e.record as { readonly id: number }).id)))

interface Shape {
  /** `execution.parallelism` */
  readonly parallelism: number
  /** The transformations' own parallelism (the chain then runs as a task of its own). */
  readonly chainParallelism?: number
  readonly bad: boolean
}

const yaml = (dir: string, gate: string, shape: Shape, transformations: ReadonlyArray<readonly [string, string]>, last: string) => {
  const own = shape.chainParallelism === undefined ? "" : `, parallelism: ${shape.chainParallelism}`
  return [
    `name: shared-dead-letters-${gate}`,
    `execution: { batch_size: 7, parallelism: ${shape.parallelism} }`,
    "sources:",
    `  input: { type: gated_orders_test, config: { count: ${COUNT}, gate: ${gate}, bad: ${shape.bad} } }`,
    "transformations:",
    ...transformations.map(([id, node]) => `  ${id}: { ${node}${own} }`),
    "destinations:",
    `  out: { type: ndjson, inputs: [${last}], config: { path: ${join(dir, "out.ndjson")} } }`,
    `  rejects: { type: ndjson, inputs: [], config: { path: ${join(dir, "rejects.ndjson")} } }`
  ].join("\n")
}

const TO_REJECTS = "on_error: dead_letter, dead_letter: { to: rejects }"
const BIG = `type: filter, inputs: [input], config: { condition: "amount > 10" }, ${TO_REJECTS}`

interface Gated {
  readonly summary: Runtime.RunSummary
  readonly checkpoints: number
  readonly chains: ReadonlyArray<ReadonlyArray<string>>
}

/**
 * Runs `text` with its source held at half way, takes two checkpoints (each waits until every
 * task, the destination too, has its barrier), then opens the gate and waits for the end. With
 * `stop`, stops the run gracefully after the checkpoints instead.
 */
const runGated = (text: string, gate: string, options: { readonly stop?: boolean; readonly backend?: StateBackend.Backend } = {}) =>
  Effect.gen(function*() {
    const graph = yield* Yaml.parse(text, { file: "wf.yaml", env: {} })
    const plan = Runtime.plan(yield* Runtime.prepare(graph))
    let handle: Runtime.RunHandle | undefined
    let checkpoints = 0
    const run = Runtime.run(graph, {
      onStart: (h) => Effect.sync(() => void (handle = h)),
      onCheckpoint: () => Effect.sync(() => void (checkpoints += 1))
    })
    const fiber = yield* Effect.forkChild(
      options.backend === undefined ? run : Effect.provideService(run, StateBackend.StateBackend, options.backend)
    )
    while (handle === undefined) yield* Effect.sleep(1)
    assert.isTrue(yield* handle.checkpoint, "checkpoint 1 completes mid-run")
    assert.isTrue(yield* handle.checkpoint, "checkpoint 2 completes mid-run")
    if (options.stop === true) yield* handle.stop
    else opened.add(gate)
    const summary = yield* Fiber.join(fiber)
    return { summary, checkpoints, chains: plan.chains } satisfies Gated
  })

const deadLetters = (summary: Runtime.RunSummary, node: string) => summary.nodes.find((n) => n.id === node)?.deadLetters ?? 0

const shapes: ReadonlyArray<readonly [string, Shape]> = [
  ["parallelism 1", { parallelism: 1, bad: true }],
  ["parallelism 2", { parallelism: 2, bad: true }],
  ["the chain a task of its own (parallelism 2 after a source of 1)", { parallelism: 1, chainParallelism: 2, bad: true }]
]

describe("chained nodes sharing one dead-letter destination", () => {
  let gates = 0
  const nextGate = () => `g${++gates}`

  for (const [what, shape] of shapes) {
    it.live(`filter then map, both set records aside (${what}): each bad record once, under the node that set it aside`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const gate = nextGate()
        const { chains, checkpoints, summary } = yield* runGated(
          yaml(dir, gate, shape, [["big", BIG], ["total", `type: map, inputs: [big], config: { fields: { total: "amount * qty" } }, ${TO_REJECTS}`]], "total"),
          gate
        )
        assert.deepInclude(chains, ["big", "total"], "the two nodes are one fused task")
        assert.isAtLeast(checkpoints, 3, "two checkpoints mid-run and the final one")
        const good = range((id) => !badAmount(id) && id % 50 > 10 && !badQty(id))
        const out = ndjsonRowsIfAny(join(dir, "out.ndjson"))
        assert.deepStrictEqual(ids(out.map((r) => Number(r.id))), good)
        for (const r of out) assert.strictEqual(r.total, Number(r.amount) * 2)
        const rejects = join(dir, "rejects.ndjson")
        assert.deepStrictEqual(lettersOf(rejects, "big"), range(badAmount))
        assert.deepStrictEqual(lettersOf(rejects, "total"), range((id) => badQty(id) && id % 50 > 10))
        assert.strictEqual(ndjsonRowsIfAny(rejects).length, range(badAmount).length + range((id) => badQty(id) && id % 50 > 10).length)
        const total = ndjsonRowsIfAny(rejects).find((e) => e.node === "total")
        assert.include(String(total?.error), "amount * qty")
        assert.strictEqual(total?.source, "input")
        assert.strictEqual(deadLetters(summary, "big"), range(badAmount).length)
        assert.strictEqual(deadLetters(summary, "total"), range((id) => badQty(id) && id % 50 > 10).length)
      }).pipe(Effect.provide(registry))))

    it.live(`the second node sets nothing aside (${what})`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const gate = nextGate()
        const { summary } = yield* runGated(
          yaml(dir, gate, shape, [["big", BIG], ["twice", `type: map, inputs: [big], config: { fields: { twice: "amount * 2" } }, ${TO_REJECTS}`]], "twice"),
          gate
        )
        assert.deepStrictEqual(ids(ndjsonRowsIfAny(join(dir, "out.ndjson")).map((r) => Number(r.id))), range((id) => !badAmount(id) && id % 50 > 10))
        assert.deepStrictEqual(lettersOf(join(dir, "rejects.ndjson"), "big"), range(badAmount))
        assert.deepStrictEqual(lettersOf(join(dir, "rejects.ndjson"), "twice"), [])
        assert.strictEqual(deadLetters(summary, "twice"), 0)
      }).pipe(Effect.provide(registry))))
  }

  for (const parallelism of [1, 2]) {
    it.live(`no record set aside at all (parallelism ${parallelism}): the destination gets nothing and the run ends`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const gate = nextGate()
        const { summary } = yield* runGated(
          yaml(dir, gate, { parallelism, bad: false }, [
            ["big", BIG],
            ["total", `type: map, inputs: [big], config: { fields: { total: "amount * qty" } }, ${TO_REJECTS}`]
          ], "total"),
          gate
        )
        assert.deepStrictEqual(ids(ndjsonRowsIfAny(join(dir, "out.ndjson")).map((r) => Number(r.id))), range((id) => id % 50 > 10))
        assert.deepStrictEqual(ndjsonRowsIfAny(join(dir, "rejects.ndjson")), [])
        assert.strictEqual(summary.nodes.find((n) => n.id === "rejects")?.recordsIn, 0)
      }).pipe(Effect.provide(registry))))
  }

  for (const parallelism of [1, 2]) {
    it.live(`a chain of three whose middle node has no dead letters (parallelism ${parallelism})`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const gate = nextGate()
        const { chains, summary } = yield* runGated(
          yaml(dir, gate, { parallelism, bad: true }, [
            ["big", BIG],
            ["half", "type: map, inputs: [big], config: { fields: { half: \"amount / 2\" } }"],
            ["total", `type: map, inputs: [half], config: { fields: { total: "amount * qty" } }, ${TO_REJECTS}`]
          ], "total"),
          gate
        )
        assert.deepInclude(chains, ["big", "half", "total"])
        const out = ndjsonRowsIfAny(join(dir, "out.ndjson"))
        assert.deepStrictEqual(ids(out.map((r) => Number(r.id))), range((id) => !badAmount(id) && id % 50 > 10 && !badQty(id)))
        for (const r of out) assert.strictEqual(r.half, Number(r.amount) / 2)
        assert.deepStrictEqual(lettersOf(join(dir, "rejects.ndjson"), "big"), range(badAmount))
        assert.deepStrictEqual(lettersOf(join(dir, "rejects.ndjson"), "total"), range((id) => badQty(id) && id % 50 > 10))
        assert.deepStrictEqual(lettersOf(join(dir, "rejects.ndjson"), "half"), [])
        assert.strictEqual(deadLetters(summary, "half"), 0)
      }).pipe(Effect.provide(registry))))
  }

  for (const parallelism of [1, 2]) {
    it.live(`a filter and the aggregate after it send to one destination (parallelism ${parallelism}): totals without either's bad records`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const gate = nextGate()
        yield* runGated(
          yaml(dir, gate, { parallelism, bad: true }, [
            ["known", `type: filter, inputs: [input], config: { condition: "qty > 0" }, ${TO_REJECTS}`],
            ["sums", `type: aggregate, inputs: [known], config: { group_by: [group], aggregates: { n: { op: count }, total: { op: sum, field: amount } } }, ${TO_REJECTS}`]
          ], "sums"),
          gate
        )
        const kept = range((id) => !badAmount(id) && !badQty(id))
        const expected = [0, 1, 2].map((group) => {
          const of = kept.filter((id) => id % 3 === group)
          return { group, n: of.length, total: of.reduce((sum, id) => sum + (id % 50), 0) }
        })
        const got = ndjsonRowsIfAny(join(dir, "out.ndjson")).map((r) => ({ group: r.group, n: r.n, total: r.total }))
        assert.deepStrictEqual([...got].sort((a, b) => Number(a.group) - Number(b.group)), expected)
        assert.deepStrictEqual(lettersOf(join(dir, "rejects.ndjson"), "known"), range(badQty))
        assert.deepStrictEqual(lettersOf(join(dir, "rejects.ndjson"), "sums"), range(badAmount))
      }).pipe(Effect.provide(registry))))
  }

  for (const parallelism of [1, 2]) {
    it.live(`a graceful stop mid-run stops it; the resumed run completes, every record and letter once (parallelism ${parallelism})`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const gate = nextGate()
        const backend = StateBackend.makeMemory()
        const text = yaml(dir, gate, { parallelism, bad: true }, [
          ["big", BIG],
          ["total", `type: map, inputs: [big], config: { fields: { total: "amount * qty" } }, ${TO_REJECTS}`]
        ], "total")
        const stopped = yield* runGated(text, gate, { stop: true, backend })
        assert.isDefined(stopped.summary.stopped, "the run stopped at its stop checkpoint")
        const half = ndjsonRowsIfAny(join(dir, "out.ndjson")).length
        assert.isBelow(half, range((id) => !badAmount(id) && id % 50 > 10 && !badQty(id)).length)
        opened.add(gate)
        const graph = yield* Yaml.parse(text, { file: "wf.yaml", env: {} })
        const resumed = yield* Runtime.run(graph).pipe(Effect.provideService(StateBackend.StateBackend, backend))
        assert.isUndefined(resumed.stopped)
        assert.deepStrictEqual(resumed.resumedFrom, { checkpoint: stopped.summary.stopped!.checkpoint, complete: false })
        assert.deepStrictEqual(
          ids(ndjsonRowsIfAny(join(dir, "out.ndjson")).map((r) => Number(r.id))),
          range((id) => !badAmount(id) && id % 50 > 10 && !badQty(id))
        )
        assert.deepStrictEqual(lettersOf(join(dir, "rejects.ndjson"), "big"), range(badAmount))
        assert.deepStrictEqual(lettersOf(join(dir, "rejects.ndjson"), "total"), range((id) => badQty(id) && id % 50 > 10))
      }).pipe(Effect.provide(registry))))
  }
})

describe("one consumer reading several ports of one task", () => {
  it.live("a destination reading an aggregate's windows and its late records: checkpoints mid-run and the end come through", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const text = [
        "name: windows-and-late",
        "execution: { batch_size: 7 }",
        "sources:",
        `  input: { type: gated_orders_test, config: { count: ${COUNT}, gate: late, bad: false } }`,
        "transformations:",
        "  agg: { type: aggregate, inputs: [input], config: { group_by: [group], time_field: ts, window: { type: tumbling, size: 10s }, window_format: epoch_ms, late: side_output, aggregates: { n: { op: count } } } }",
        "destinations:",
        `  out: { type: ndjson, inputs: [agg, agg.late], config: { path: ${join(dir, "out.ndjson")} } }`
      ].join("\n")
      const { checkpoints } = yield* runGated(text, "late")
      assert.isAtLeast(checkpoints, 3)
      const out = ndjsonRowsIfAny(join(dir, "out.ndjson"))
      const windows = out.filter((r) => "n" in r)
      const late = out.filter((r) => !("n" in r))
      assert.isAbove(late.length, 0)
      for (const r of late) assert.strictEqual(Number(r.id) % 17, 0)
      // every record is counted in a window or comes out late, once
      assert.strictEqual(windows.reduce((sum, r) => sum + Number(r.n), 0) + late.length, COUNT)
    }).pipe(Effect.provide(registry))))
})

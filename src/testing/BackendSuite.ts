/**
 * The conformance suite every state backend passes — the built-in ones and yours.
 *
 * `BackendSuite.cases(backend)` returns the checks, free of any test framework
 * ({@link SuiteCase}); `backendSuite` of `dataflare/vitest` registers them as vitest tests. They
 * check the contract the runtime relies on: a written checkpoint is restored exactly; incremental
 * records rebuild the same state as full snapshots (a fast-check property over random upserts and
 * deletes per operator with periodic full snapshots, compared with a model); `list` order, limit
 * and metadata; `clear`; restore stays correct while old records are pruned; `lock` (when the
 * backend has it) admits one writer per workflow; two workflows never see each other's state.
 *
 * Every case uses workflow names of its own, so a backend over a shared store (a database) can be
 * given as one Layer; `backend` is built anew for every case in the case's scope.
 *
 * @example
 * ```ts
 * import { test } from "node:test"
 * import { FileBackend } from "dataflare"
 * import { BackendSuite, SuiteCase } from "dataflare/testing"
 *
 * for (const c of BackendSuite.cases(FileBackend.layer({ root: "/tmp/dataflare-suite" }))) {
 *   test(c.name, { timeout: c.timeout }, () => SuiteCase.runPromise(c))
 * }
 * ```
 * @since 0.1.0
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import fc from "fast-check"
import assert from "node:assert/strict"
import { type CheckpointRecord, info, type OperatorState, type Restored, restoreFrom } from "../Checkpoint.ts"
import { type Backend, RETAIN, StateBackend, StateBackendError } from "../StateBackend.ts"
import type { SuiteCase } from "./SuiteCase.ts"

/**
 * The backend under test: a Layer providing {@link StateBackend}, or a scoped Effect making one.
 *
 * @category models
 * @since 0.1.0
 */
export type BackendUnderTest<E = never> = Layer.Layer<StateBackend, E> | Effect.Effect<Backend, E, Scope.Scope>

/**
 * Options of {@link cases}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * `"many"` (default): one backend keeps any number of workflows apart. `"one"`: a backend
   * instance is bound to one workflow (like a file backend given a fixed `--state-dir`) and must
   * refuse any other with a `StateBackendError`.
   */
  readonly workflows?: "many" | "one" | undefined
  /** Runs of the incremental-chain property (default: `DATAFLARE_PROPERTY_RUNS`, else 20). */
  readonly numRuns?: number | undefined
}

/**
 * The state backend conformance checks, one {@link SuiteCase} each.
 *
 * @category suites
 * @since 0.1.0
 */
export const cases = <E>(backend: BackendUnderTest<E>, options?: Options): ReadonlyArray<SuiteCase> => {
  const acquire: Effect.Effect<Backend, E, Scope.Scope> = isLayer(backend)
    ? Effect.map(Layer.build(backend), (context) => Context.get(context, StateBackend))
    : backend
  const many = (options?.workflows ?? "many") === "many"
  const runs = options?.numRuns ?? envRuns() ?? 20
  let counter = 0
  const run = Math.random().toString(36).slice(2, 8)
  const workflow = (label: string) => `suite-${label}-${process.pid}-${run}-${counter++}`
  const check = (name: string, body: Effect.Effect<void, unknown, Scope.Scope>, timeout?: number): SuiteCase =>
    timeout === undefined ? { name, run: Effect.scoped(body) } : { name, run: Effect.scoped(body), timeout }

  return [
    check(
      "restores exactly what was written, and nothing for an unknown workflow",
      Effect.gen(function*() {
        const b = yield* acquire
        const w = workflow("roundtrip")
        assert.equal(yield* b.latest(w), undefined)
        const record = makeRecord(w, 1, {
          full: true,
          final: true,
          positions: [{ node: "src", instance: 0, position: { file: "a.csv", offset: 1234, nested: [1, "two", null] } }],
          operators: [
            {
              node: "count",
              instance: 0,
              version: 3,
              full: true,
              upserts: [["k1", { n: 1, tags: ["a", "é", "✓"], x: null }], ["k2", 2.5], ["k\"3", "line\nbreak"], ["nul\u0000", "a\u0000b"], ["lone", "\ud800 and \udfff"], ["big", 2 ** 53 - 1]],
              deletes: []
            },
            { node: "count", instance: 1, version: 3, full: true, upserts: [], deletes: [] }
          ]
        })
        yield* b.write(record)
        const restored = yield* b.latest(w)
        assert.deepStrictEqual(normalize(restored), normalize(restoreFrom([record])))
        assert.strictEqual(restored?.final, true)
      })
    ),

    check(
      "incremental chains rebuild the same state as full snapshots (property)",
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(historyArbitrary, (history) =>
            Effect.runPromise(Effect.scoped(Effect.gen(function*() {
              // a fresh backend per case, so backends bound to one workflow run it too
              const b = yield* acquire
              const bFull = yield* acquire
              const incremental = workflow("incr")
              const snapshots = workflow("full")
              const model = new Map<string, { version: number; entries: Map<string, unknown> }>()
              let id = 0
              for (const step of history) {
                id++
                applyStep(model, step)
                yield* b.write(recordOfStep(incremental, id, step, model))
                const restored = yield* b.latest(incremental)
                assert.deepStrictEqual(normalize(restored), normalize(expected(id, model)))
                yield* bFull.write(fullRecord(snapshots, id, model))
                assert.deepStrictEqual(normalize(yield* bFull.latest(snapshots)), normalize(restored))
              }
              yield* b.clear(incremental)
              yield* bFull.clear(snapshots)
            })))
          ),
          { numRuns: runs }
        )
      ),
      // grows with the runs (`DATAFLARE_PROPERTY_RUNS=5000` included): a case takes ~50 ms against
      // a local PostgreSQL, several times that on a loaded machine
      Math.max(600_000, 60_000 + runs * 500)
    ),

    check(
      "lists metadata newest first, up to the limit",
      Effect.gen(function*() {
        const b = yield* acquire
        const w = workflow("list")
        assert.deepStrictEqual(yield* b.list(w, 10), [])
        const records: Array<CheckpointRecord> = []
        for (let id = 1; id <= 5; id++) {
          const record = makeRecord(w, id, {
            full: id === 1,
            final: id === 5,
            startedAt: 1_000 * id,
            completedAt: 1_000 * id + 7 * id,
            positions: [{ node: "src", instance: 0, position: id * 10 }],
            operators: [{ node: "agg", instance: 0, version: 1, full: id === 1, upserts: [[`k${id}`, "x".repeat(id)]], deletes: id > 2 ? ["k1"] : [] }]
          })
          records.push(record)
          yield* b.write(record)
        }
        const three = yield* b.list(w, 3)
        assert.deepStrictEqual(three.map((i) => i.id), [5, 4, 3])
        assert.deepStrictEqual([...three], [info(records[4]), info(records[3]), info(records[2])])
        assert.strictEqual(three[0].durationMs, 35)
        assert.ok(three[0].final)
        assert.deepStrictEqual((yield* b.list(w, 100)).map((i) => i.id), [5, 4, 3, 2, 1])
        assert.deepStrictEqual((yield* b.list(w, 1)).map((i) => i.id), [5])
      })
    ),

    check(
      "clear forgets every checkpoint of the workflow, and the workflow starts over",
      Effect.gen(function*() {
        const b = yield* acquire
        const w = workflow("clear")
        for (let id = 1; id <= 3; id++) yield* b.write(simpleRecord(w, id, id === 1, `v${id}`))
        yield* b.clear(w)
        assert.equal(yield* b.latest(w), undefined)
        assert.deepStrictEqual(yield* b.list(w, 10), [])
        yield* b.clear(w) // clearing nothing is fine
        yield* b.write(simpleRecord(w, 1, true, "again"))
        const restored = yield* b.latest(w)
        assert.strictEqual(restored?.id, 1)
        assert.deepStrictEqual(restored?.operators.get("op/0")?.entries, [["key", "again"]])
      })
    ),

    check(
      `pruning keeps the last ${RETAIN} records and restore correct`,
      Effect.gen(function*() {
        const b = yield* acquire
        const w = workflow("prune")
        const model = new Map<string, { version: number; entries: Map<string, unknown> }>()
        const total = RETAIN * 3 + 4
        for (let id = 1; id <= total; id++) {
          const step: Step = { full: id % 7 === 1, ops: [{ op: 0, instance: 0, key: `k${id % 13}`, value: id }, { op: 0, instance: 0, key: `k${(id + 5) % 13}` }] }
          applyStep(model, step)
          yield* b.write(recordOfStep(w, id, step, model))
          assert.deepStrictEqual(normalize(yield* b.latest(w)), normalize(expected(id, model)))
        }
        const ids = (yield* b.list(w, 1_000)).map((i) => i.id)
        const lastRetain = Array.from({ length: RETAIN }, (_, i) => total - i)
        for (const id of lastRetain) assert.ok(ids.includes(id), `checkpoint ${id} is kept`)
        // a backend may keep more, but not an unbounded history
        assert.ok(ids.length <= RETAIN + 7, `at most ${RETAIN + 7} records kept, found ${ids.length}`)
      })
    ),

    check(
      "lock: one writer per workflow; a second lock is refused (LockHeld) until the first is released",
      Effect.gen(function*() {
        const b = yield* acquire
        if (b.lock === undefined) return // a backend without `lock` gives no single-writer guarantee
        const w = workflow("lock")
        const first = yield* Scope.make()
        yield* Scope.provide(b.lock(w), first)
        const second = yield* Effect.exit(Effect.scoped(b.lock(w)))
        assert.ok(
          Exit.isFailure(second) &&
            second.cause.reasons.some((r) => r._tag === "Fail" && r.error instanceof StateBackendError && r.error.reason === "LockHeld"),
          "a second lock of a held workflow is refused"
        )
        // the holder writes as usual
        yield* b.write(simpleRecord(w, 1, true, "held"))
        yield* Scope.close(first, Exit.void)
        yield* Effect.scoped(Effect.andThen(b.lock(w), b.write(simpleRecord(w, 2, true, "next"))))
        assert.strictEqual((yield* b.latest(w))?.id, 2)
      })
    ),

    check(
      "two workflows never see each other's checkpoints",
      Effect.gen(function*() {
        const b = yield* acquire
        const a = workflow("a")
        const other = workflow("b")
        yield* b.write(simpleRecord(a, 1, true, "from-a"))
        if (!many) {
          const exit = yield* Effect.exit(b.write(simpleRecord(other, 1, true, "from-b")))
          assert.ok(Exit.isFailure(exit) && exit.cause.reasons.some((r) => r._tag === "Fail" && r.error instanceof StateBackendError))
          assert.deepStrictEqual((yield* b.latest(a))?.operators.get("op/0")?.entries, [["key", "from-a"]])
          return
        }
        yield* b.write(simpleRecord(other, 1, true, "from-b"))
        yield* b.write(simpleRecord(a, 2, false, "a-2"))
        yield* b.write(simpleRecord(other, 2, true, "b-2"))
        yield* b.write(simpleRecord(other, 3, false, "b-3"))
        assert.deepStrictEqual((yield* b.latest(a))?.operators.get("op/0")?.entries, [["key", "a-2"]])
        assert.strictEqual((yield* b.latest(a))?.id, 2)
        assert.strictEqual((yield* b.latest(other))?.id, 3)
        assert.deepStrictEqual((yield* b.list(a, 10)).map((i) => [i.workflow, i.id]), [[a, 2], [a, 1]])
        assert.deepStrictEqual((yield* b.list(other, 10)).map((i) => [i.workflow, i.id]), [[other, 3], [other, 2], [other, 1]])
        yield* b.clear(a)
        assert.strictEqual((yield* b.latest(other))?.id, 3)
      })
    )
  ]
}

/** One checkpoint's worth of changes: operations on operators `op` × instance, and whether it is full. */
interface Step {
  readonly full: boolean
  readonly version?: number
  /** `value` absent: delete. */
  readonly ops: ReadonlyArray<{ readonly op: number; readonly instance: number; readonly key: string; readonly value?: unknown }>
}

const OPERATORS = [["agg", 2], ["dedupe", 1]] as const

const opArbitrary = fc.record(
  {
    op: fc.integer({ min: 0, max: OPERATORS.length - 1 }),
    instance: fc.integer({ min: 0, max: 1 }),
    key: fc.oneof(fc.constantFrom("a", "b", "c", "d", "e", "ü/ß", "with space"), fc.string({ unit: "binary", maxLength: 6 })),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown),
      fc.string({ unit: "binary", maxLength: 8 })
    )
  },
  { requiredKeys: ["op", "instance", "key"] }
)

const historyArbitrary = fc.tuple(
  fc.integer({ min: 1, max: 6 }),
  fc.array(fc.record({ ops: fc.array(opArbitrary, { maxLength: 12 }), version: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: RETAIN * 2 + 5 })
).map(([fullEvery, steps]): ReadonlyArray<Step> =>
  steps.map((s, i) => ({ full: i % fullEvery === 0, version: s.version, ops: s.ops.map((o) => ({ ...o, instance: o.instance % OPERATORS[o.op][1] })) }))
)

type Model = Map<string, { version: number; entries: Map<string, unknown> }>

const operatorKeys = (): Array<readonly [node: string, instance: number]> =>
  OPERATORS.flatMap(([node, n]) => Array.from({ length: n }, (_, i) => [node, i] as const))

const applyStep = (model: Model, step: Step): void => {
  for (const [node, instance] of operatorKeys()) {
    const key = `${node}/${instance}`
    const current = model.get(key) ?? { version: 1, entries: new Map<string, unknown>() }
    current.version = step.version ?? current.version
    model.set(key, current)
  }
  for (const o of step.ops) {
    const current = model.get(`${OPERATORS[o.op][0]}/${o.instance}`)!
    if (o.value === undefined) current.entries.delete(o.key)
    else current.entries.set(o.key, o.value)
  }
}

/** The record a runtime would write for `step`: its changes, or a full snapshot of `model` (already updated). */
const recordOfStep = (workflow: string, id: number, step: Step, model: Model): CheckpointRecord => {
  if (step.full) return fullRecord(workflow, id, model)
  const operators: Array<OperatorState> = operatorKeys().map(([node, instance]) => {
    const last = new Map<string, unknown>()
    for (const o of step.ops) if (OPERATORS[o.op][0] === node && o.instance === instance) last.set(o.key, o.value)
    const upserts: Array<readonly [string, unknown]> = []
    const deletes: Array<string> = []
    for (const [k, v] of last) {
      if (v === undefined) deletes.push(k)
      else upserts.push([k, v])
    }
    return { node, instance, version: model.get(`${node}/${instance}`)!.version, full: false, upserts, deletes }
  })
  return makeRecord(workflow, id, { full: false, operators, positions: [{ node: "src", instance: 0, position: { offset: id } }] })
}

const fullRecord = (workflow: string, id: number, model: Model): CheckpointRecord =>
  makeRecord(workflow, id, {
    full: true,
    positions: [{ node: "src", instance: 0, position: { offset: id } }],
    operators: operatorKeys().map(([node, instance]) => {
      const state = model.get(`${node}/${instance}`)!
      return { node, instance, version: state.version, full: true, upserts: [...state.entries], deletes: [] }
    })
  })

const expected = (id: number, model: Model): Restored => ({
  id,
  final: false,
  positions: [{ node: "src", instance: 0, position: { offset: id } }],
  operators: new Map([...model].map(([k, v]) => [k, { version: v.version, entries: [...v.entries] }]))
})

const makeRecord = (
  workflow: string,
  id: number,
  fields: Partial<Omit<CheckpointRecord, "workflow" | "id" | "format">>
): CheckpointRecord => ({
  format: 1,
  workflow,
  id,
  startedAt: fields.startedAt ?? 1_700_000_000_000 + id * 1_000,
  completedAt: fields.completedAt ?? 1_700_000_000_000 + id * 1_000 + 5,
  full: fields.full ?? true,
  positions: fields.positions ?? [],
  operators: fields.operators ?? [],
  final: fields.final ?? false
})

const simpleRecord = (workflow: string, id: number, full: boolean, value: string): CheckpointRecord =>
  makeRecord(workflow, id, {
    full,
    positions: [{ node: "src", instance: 0, position: id }],
    operators: [{ node: "op", instance: 0, version: 1, full, upserts: [["key", value]], deletes: [] }]
  })

/** A comparable form of a restored state: operators and their entries sorted by key. */
const normalize = (restored: Restored | undefined) =>
  restored === undefined
    ? undefined
    : {
      id: restored.id,
      final: restored.final,
      positions: restored.positions,
      operators: [...restored.operators]
        .map(([k, v]) => [k, v.version, [...v.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))] as const)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    }

const isLayer = <E>(u: BackendUnderTest<E>): u is Layer.Layer<StateBackend, E> => Layer.isLayer(u)

const envRuns = (): number | undefined => {
  const n = Number(process.env.DATAFLARE_PROPERTY_RUNS)
  return Number.isFinite(n) && n > 0 ? n : undefined
}

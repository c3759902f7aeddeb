/**
 * Checkpoint-restore equivalence as a library function: property-test your own workflow.
 *
 * `checkRestoreEquivalence` runs a workflow on arbitrary inputs twice: once without failures,
 * and once with arbitrary checkpoint intervals and arbitrary failure points (a source read
 * fails, a sink write fails mid-batch, the whole process "crashes" — its in-memory state is
 * dropped and a new run restores from the state backend — or the run is stopped gracefully and a
 * new run resumes). Between such runs the parallelism of the `rescalable` nodes may change. The
 * sinks' final content must be the same: identical for exactly-once sinks (compared as
 * multisets, since parallel instances may interleave), identical after de-duplication by a key
 * for at-least-once ones.
 *
 * Sources and sinks are replaced by in-memory ones through {@link Overrides}, so the workflow
 * value under test is the production one. Time is virtual ({@link TestClock}): checkpoint
 * intervals and restart delays are deterministic, and a counterexample replays from its seed.
 *
 * @example
 * ```ts
 * await checkRestoreEquivalence({
 *   graph: myWorkflow,
 *   registry: Builtins.layer,
 *   inputs: { orders: fc.array(orderArbitrary, { maxLength: 200 }) },
 *   numRuns: 100
 * })
 * ```
 * @since 0.1.0
 */
import { Effect, Exit, Fiber, type Layer } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as Batch from "../Batch.ts"
import * as Overrides from "../Overrides.ts"
import { type PreparedSink, type PreparedSource, Registry } from "../Registry.ts"
import * as Runtime from "../Runtime.ts"
import type { TypedGraph } from "../Spec.ts"
import * as StateBackend from "../StateBackend.ts"
import type { WorkflowGraph } from "../WorkflowGraph.ts"

/**
 * Where a failure is injected (0-based counts of calls, per run).
 *
 * @category models
 * @since 0.1.0
 */
export type Failure =
  | { readonly _tag: "SourceRead"; readonly node: string; readonly at: number }
  | { readonly _tag: "SinkWrite"; readonly node: string; readonly at: number }
  | { readonly _tag: "Crash"; readonly afterReads: number }
  /** A graceful stop (a checkpoint as it is) once the sources have read `afterReads` times; a new run resumes. */
  | { readonly _tag: "Stop"; readonly afterReads: number }

/**
 * A failure scenario: checkpoint interval (virtual ms; every source read takes 1 ms) and failures.
 *
 * @category models
 * @since 0.1.0
 */
export interface Scenario {
  readonly checkpointEvery: number
  readonly failures: ReadonlyArray<Failure>
  /**
   * The sinks declare `inline`: where the plan allows, they run chained in their source's fiber
   * instead of behind a queue (default false).
   */
  readonly inlineSinks?: boolean
  /**
   * The parallelism of the `rescalable` nodes in the runs after each crash or stop, in order (the
   * last one repeats; absent or empty: unchanged).
   */
  readonly parallelism?: ReadonlyArray<number>
}

/**
 * Options of {@link checkRestoreEquivalence}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<R = never> {
  /** The workflow; a graph of the typed DSL brings the services `R` its user code needs. */
  readonly graph: TypedGraph<string, unknown, R>
  /** A Layer providing the registry that knows the workflow's processors. */
  readonly registry: Layer.Layer<Registry, unknown>
  /**
   * A Layer of the services the workflow's user code needs (`R`): required when the graph's type
   * says it needs some (a graph of the typed DSL whose processors use a service).
   */
  readonly services?: Layer.Layer<R, unknown> | undefined
  /** For each source node: an arbitrary of its records. */
  readonly inputs: { readonly [source: string]: fc.Arbitrary<ReadonlyArray<unknown>> }
  /**
   * Source nodes that read through their own connector (prepared from the registry) instead of
   * an in-memory one: a resumable Effect stream, a connector under test. Each read is counted
   * and can fail, as an in-memory source's can; the connector must be able to seek back to a
   * checkpointed position, and read the same records every time (its input is its own, not
   * drawn from `inputs`).
   */
  readonly keep?: ReadonlyArray<string> | undefined
  /** Sinks compared after de-duplication by this key (at-least-once sinks); others exactly. */
  readonly dedupeKey?: { readonly [sink: string]: (record: unknown) => string }
  /** Records a source returns per read (default 3, so checkpoints fall between many batches). */
  readonly batchSize?: number
  readonly numRuns?: number
  readonly seed?: number
  /**
   * Stateful nodes whose parallelism scenarios may change between a crash or stop and the run that
   * resumes (their state must be split by key group: see `StatefulProcessor.keyOfEntry`).
   */
  readonly rescalable?: ReadonlyArray<string>
}

/** An in-memory source over an array, seekable by index, that can fail once at a read. */
const memorySource = (records: ReadonlyArray<unknown>, batchSize: number, clock: { reads: number }, failAt: () => boolean): PreparedSource => ({
  _tag: "PreparedSource",
  type: "memory",
  capabilities: { seekable: true, unbounded: false },
  check: Effect.void,
  open: () =>
    Effect.sync(() => {
      let next = 0
      return {
        readBatch: (max: number) =>
          Effect.gen(function*() {
            // every read takes one virtual millisecond, so checkpoint intervals fall between reads
            yield* Effect.sleep(1)
            clock.reads += 1
            if (failAt()) return yield* Effect.die(new Error("injected source failure"))
            if (next >= records.length) return undefined
            const n = Math.min(max, batchSize, records.length - next)
            const batch = Batch.make(records.slice(next, next + n))
            next += n
            return batch
          }),
        position: Effect.sync(() => next),
        seek: (p) =>
          Effect.sync(() => {
            next = Number(p)
          }),
        commit: () => Effect.void
      }
    })
})

/** A kept source: its own connector, each read taking one virtual millisecond and able to fail once. */
const countedSource = (inner: PreparedSource, batchSize: number, clock: { reads: number }, failAt: () => boolean): PreparedSource => ({
  ...inner,
  open: (context) =>
    Effect.map(inner.open(context), (reader) => ({
      readBatch: (max: number) =>
        Effect.gen(function*() {
          yield* Effect.sleep(1)
          clock.reads += 1
          if (failAt()) return yield* Effect.die(new Error("injected source failure"))
          return yield* reader.readBatch(Math.min(max, batchSize))
        }),
      position: reader.position,
      seek: reader.seek,
      commit: reader.commit
    }))
})

/** The prepared connectors of the kept source nodes, from the registry. */
const keptSources = (graph: WorkflowGraph, keep: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const registry = yield* Registry
    const prepared = new Map<string, PreparedSource>()
    for (const id of keep) {
      const node = graph.nodes.find((n) => n.id === id && n.kind === "source")
      const entry = node === undefined ? undefined : registry.find("source", node.type)
      if (node === undefined || entry === undefined || entry.kind !== "source") {
        return yield* Effect.fail(new Error(`keep: '${id}' is not a source node of a type the registry knows`))
      }
      const result = entry.prepare(node.config ?? {})
      if (!result.ok) return yield* Effect.fail(new Error(`keep: source '${id}' has an invalid config: ${JSON.stringify(result.issues)}`))
      prepared.set(id, result.value)
    }
    return prepared
  })

/** The content of an exactly-once in-memory sink; it outlives runs, like a file would. */
interface Store {
  committed: Array<unknown>
  prepared: Array<{ readonly id: number; readonly records: ReadonlyArray<unknown> }>
  pending: Array<unknown>
}

const exactlyOnceSink = (store: Store, failAt: () => boolean, inline: boolean): PreparedSink => ({
  _tag: "PreparedSink",
  type: "memory",
  capabilities: { guarantee: "exactly-once", transactional: true, inline },
  check: Effect.void,
  open: () =>
    Effect.succeed({
      writeBatch: (batch: Batch.Batch<unknown>) =>
        Effect.gen(function*() {
          // a failure mid-batch: half of the batch is written, then the write fails
          const records = Batch.toArray(batch)
          if (failAt()) {
            store.pending.push(...records.slice(0, Math.floor(records.length / 2)))
            return yield* Effect.die(new Error("injected sink failure"))
          }
          store.pending.push(...records)
          return { written: records.length }
        }),
      flush: Effect.void,
      preCommit: (id: number) =>
        Effect.sync(() => {
          store.prepared.push({ id, records: store.pending })
          store.pending = []
        }),
      commit: (id: number) =>
        Effect.sync(() => {
          for (const p of store.prepared) if (p.id <= id) store.committed.push(...p.records)
          store.prepared = store.prepared.filter((p) => p.id > id)
        }),
      restore: (id: number | undefined) =>
        Effect.sync(() => {
          for (const p of store.prepared) if (id !== undefined && p.id <= id) store.committed.push(...p.records)
          store.prepared = []
          store.pending = []
        })
    })
})

const canonical = (records: ReadonlyArray<unknown>, key?: (record: unknown) => string): ReadonlyArray<string> => {
  const encoded = key === undefined ? records.map((r) => JSON.stringify(r)) : [...new Set(records.map(key))]
  return [...encoded].sort()
}

/**
 * What one scenario produced: each sink's content (sorted JSON lines) without and with failures,
 * the number of restarts, and the checkpoint each restart restored from (0: none).
 *
 * @category models
 * @since 0.1.0
 */
export interface ScenarioResult {
  readonly clean: { readonly [sink: string]: ReadonlyArray<string> }
  readonly faulty: { readonly [sink: string]: ReadonlyArray<string> }
  readonly restarts: number
  readonly restoredFrom: ReadonlyArray<number>
  /** Graceful stops that ended a run at a checkpoint (a new run resumed). */
  readonly stops: number
  /** Resumed runs whose rescalable nodes ran at another parallelism than the run before. */
  readonly rescaled: number
}

/**
 * Runs one scenario on one input, and returns the sinks' content of the clean and of the faulty
 * run (canonical form: sorted JSON lines per sink).
 *
 * @category running
 * @since 0.1.0
 */
export const runScenario = <R = never>(
  options: Options<R> & NeedsServices<R>,
  inputs: { readonly [source: string]: ReadonlyArray<unknown> },
  scenario: Scenario
): Effect.Effect<ScenarioResult, unknown> =>
  Effect.gen(function*() {
    // the services are provided below, so the run itself needs none
    const graph: WorkflowGraph = options.graph
    const services = options.services
    const batchSize = options.batchSize ?? 3
    const kept = yield* Effect.provide(keptSources(graph, options.keep ?? []), options.registry)
    const sources = graph.nodes.filter((n) => n.kind === "source").map((n) => n.id)
    const sinks = graph.nodes.filter((n) => n.kind === "sink").map((n) => n.id)
    const restoredFrom: Array<number> = []
    const rescalable = new Set(options.rescalable ?? [])
    /** The graph of the run after `interruptions` crashes or stops (with its rescaled nodes). */
    const graphAfter = (interruptions: number): WorkflowGraph => {
      const steps = scenario.parallelism ?? []
      if (interruptions === 0 || steps.length === 0 || rescalable.size === 0) return graph
      const parallelism = steps[Math.min(interruptions, steps.length) - 1]
      return { ...graph, nodes: graph.nodes.map((n) => (rescalable.has(n.id) ? { ...n, parallelism } : n)) }
    }
    const runOnce = (
      execution: WorkflowGraph["execution"],
      stores: ReadonlyMap<string, Store>,
      backend: StateBackend.Backend,
      clock: { reads: number },
      sourceFails: (node: string) => () => boolean,
      sinkFails: (node: string) => () => boolean,
      run: { readonly graph: WorkflowGraph; readonly stop?: Effect.Effect<void> } = { graph }
    ) => {
      const overrides: { [node: string]: PreparedSource | PreparedSink } = {}
      for (const s of sources) {
        const own = kept.get(s)
        overrides[s] = own !== undefined
          ? countedSource(own, batchSize, clock, sourceFails(s))
          : memorySource(inputs[s] ?? [], batchSize, clock, sourceFails(s))
      }
      for (const s of sinks) overrides[s] = exactlyOnceSink(stores.get(s)!, sinkFails(s), scenario.inlineSinks === true)
      const running = Runtime.run({ ...run.graph, execution }, {
        ...(run.stop !== undefined ? { stop: run.stop } : {}),
        onRestart: () =>
          Effect.map(backend.latest(graph.name), (r) => {
            restoredFrom.push(r?.id ?? 0)
          }).pipe(Effect.orDie)
      })
      return (services === undefined ? running : Effect.provide(running, services)).pipe(
        Effect.provide(Overrides.layer(overrides)),
        Effect.provideService(StateBackend.StateBackend, backend),
        Effect.provide(options.registry)
      )
    }
    /** Runs an effect under a TestClock, advancing virtual time 1 ms at a time until it ends. */
    const virtual = <A, E>(effect: Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(effect)
        while (fiber.pollUnsafe() === undefined) {
          yield* TestClock.adjust(1)
          yield* Effect.yieldNow
        }
        return yield* Fiber.await(fiber)
      }).pipe(Effect.provide(TestClock.layer()))
    const never = () => () => false
    const freshStores = () => new Map(sinks.map((s) => [s, { committed: [], prepared: [], pending: [] } as Store]))
    // 1. the reference run
    const cleanStores = freshStores()
    const cleanExit = yield* virtual(
      runOnce(graph.execution, cleanStores, StateBackend.makeMemory(), { reads: 0 }, never, never)
    )
    if (Exit.isFailure(cleanExit)) return yield* Effect.failCause(cleanExit.cause)
    // 2. the faulty run(s)
    const stores = freshStores()
    const backend = StateBackend.makeMemory()
    const clock = { reads: 0 }
    const fired = new Set<Failure>()
    const once = (f: Failure, hit: () => boolean) => () => {
      if (fired.has(f) || !hit()) return false
      fired.add(f)
      return true
    }
    const execution = {
      ...graph.execution,
      checkpoint_interval: `${scenario.checkpointEvery}ms`,
      restart_strategy: { type: "fixed-delay" as const, attempts: 100, delay: "1ms" }
    }
    const counters = new Map<Failure, number>()
    const count = (f: Failure) => {
      const n = counters.get(f) ?? 0
      counters.set(f, n + 1)
      return n
    }
    const sourceFails = (node: string) => {
      const mine = scenario.failures.filter((f) => f._tag === "SourceRead" && f.node === node)
      const checks = mine.map((f) => once(f, () => count(f) === (f as { at: number }).at))
      return () => checks.some((c) => c())
    }
    const sinkFails = (node: string) => {
      const mine = scenario.failures.filter((f) => f._tag === "SinkWrite" && f.node === node)
      const checks = mine.map((f) => once(f, () => count(f) === (f as { at: number }).at))
      return () => checks.some((c) => c())
    }
    let restarts = 0
    const interruptions = scenario.failures.filter((f): f is Failure & { _tag: "Crash" | "Stop" } => f._tag === "Crash" || f._tag === "Stop")
    let runs = 0
    let stops = 0
    let rescaled = 0
    const parallelismOf = (g: WorkflowGraph) => JSON.stringify(g.nodes.filter((n) => rescalable.has(n.id)).map((n) => n.parallelism ?? 1))
    for (const interruption of interruptions) {
      const reached = Effect.repeat(Effect.sleep(1), { until: () => clock.reads >= interruption.afterReads })
      const run = { graph: graphAfter(runs) }
      if (runs > 0 && parallelismOf(run.graph) !== parallelismOf(graphAfter(runs - 1))) rescaled += 1
      runs += 1
      if (interruption._tag === "Stop") {
        // a graceful stop: the run checkpoints where it is and ends; a new run resumes
        const summary = yield* Effect.flatten(virtual(runOnce(execution, stores, backend, clock, sourceFails, sinkFails, { ...run, stop: reached })))
        restarts += summary.restarts
        if (summary.stopped === undefined) break
        stops += 1
      } else {
        // a process crash: the run is interrupted after some reads, all in-memory state is lost,
        // and a new run restores from the backend
        const exit = yield* virtual(
          Effect.raceFirst(
            runOnce(execution, stores, backend, clock, sourceFails, sinkFails, run),
            Effect.andThen(reached, Effect.fail("crash" as const))
          )
        )
        if (Exit.isSuccess(exit)) break
      }
      restarts += 1
      restoredFrom.push((yield* backend.latest(graph.name))?.id ?? 0)
    }
    if (runs > 0 && parallelismOf(graphAfter(runs)) !== parallelismOf(graphAfter(runs - 1))) rescaled += 1
    const summary = yield* Effect.flatten(virtual(runOnce(execution, stores, backend, clock, sourceFails, sinkFails, { graph: graphAfter(runs) })))
    restarts += summary.restarts
    const result = (s: ReadonlyMap<string, Store>) =>
      Object.fromEntries(sinks.map((k) => [k, canonical(s.get(k)!.committed, options.dedupeKey?.[k])]))
    return { clean: result(cleanStores), faulty: result(stores), restarts, restoredFrom, stops, rescaled }
  })

/**
 * An arbitrary failure scenario for a graph.
 *
 * @category arbitraries
 * @since 0.1.0
 */
export const scenarioArbitrary = (graph: WorkflowGraph, rescalable: ReadonlyArray<string> = []): fc.Arbitrary<Scenario> => {
  const sources = graph.nodes.filter((n) => n.kind === "source").map((n) => n.id)
  const sinks = graph.nodes.filter((n) => n.kind === "sink").map((n) => n.id)
  const failure: fc.Arbitrary<Failure> = fc.oneof(
    fc.record({ _tag: fc.constant("SourceRead" as const), node: fc.constantFrom(...sources), at: fc.nat({ max: 20 }) }),
    fc.record({ _tag: fc.constant("SinkWrite" as const), node: fc.constantFrom(...sinks), at: fc.nat({ max: 20 }) }),
    fc.record({ _tag: fc.constant("Crash" as const), afterReads: fc.integer({ min: 1, max: 25 }) }),
    fc.record({ _tag: fc.constant("Stop" as const), afterReads: fc.integer({ min: 1, max: 25 }) })
  )
  return fc.record({
    checkpointEvery: fc.integer({ min: 1, max: 6 }),
    failures: fc.array(failure, { maxLength: 3 }),
    inlineSinks: fc.boolean(),
    parallelism: rescalable.length === 0 ? fc.constant([]) : fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 })
  })
}

/**
 * Property-tests a workflow: for arbitrary inputs and failure scenarios, the sinks' content
 * after failures and restores equals the content of a run without failures. Rejects (with
 * fast-check's shrunk counterexample) when it does not.
 *
 * @category running
 * @since 0.1.0
 */
export const checkRestoreEquivalence = async <R = never>(options: Options<R> & NeedsServices<R>): Promise<Statistics> => {
  const inputs = fc.record(options.inputs as { [k: string]: fc.Arbitrary<ReadonlyArray<unknown>> })
  const stats = { cases: 0, restarts: 0, restoredFromCheckpoint: 0, stops: 0, rescaled: 0 }
  await fc.assert(
    fc.asyncProperty(inputs, scenarioArbitrary(options.graph, options.rescalable), async (input, scenario) => {
      const { clean, faulty, rescaled, restarts, restoredFrom, stops } = await Effect.runPromise(runScenario(options, input, scenario))
      stats.cases += 1
      stats.stops += stops
      stats.rescaled += rescaled
      stats.restarts += restarts + restoredFrom.length - restarts
      stats.restoredFromCheckpoint += restoredFrom.filter((id) => id > 0).length
      for (const sink of Object.keys(clean)) {
        const a = clean[sink]
        const b = faulty[sink]
        if (JSON.stringify(a) !== JSON.stringify(b)) {
          throw new Error(
            `sink '${sink}' differs after restore: ${a.length} records without failures, ${b.length} with; first difference: ${
              JSON.stringify(firstDifference(a, b))
            }`
          )
        }
      }
    }),
    {
      numRuns: options.numRuns ?? 100,
      ...(options.seed !== undefined ? { seed: options.seed } : {})
    }
  )
  return stats
}

/**
 * Requires {@link Options.services} when the graph's user code needs services (`R`).
 *
 * @category type-level
 * @since 0.1.0
 */
export type NeedsServices<R> = [R] extends [never] ? unknown : { readonly services: Layer.Layer<R, unknown> }

/**
 * What a check exercised (the last, passing run of the property): cases, restarts (including
 * simulated process crashes), and restarts that restored from a completed checkpoint.
 *
 * @category models
 * @since 0.1.0
 */
export interface Statistics {
  readonly cases: number
  readonly restarts: number
  readonly restoredFromCheckpoint: number
  /** Graceful stops a new run resumed from. */
  readonly stops: number
  /** Resumed runs at another parallelism of the rescalable nodes. */
  readonly rescaled: number
}

const firstDifference = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return { index: i, withoutFailures: a[i], withFailures: b[i] }
  }
  return undefined
}

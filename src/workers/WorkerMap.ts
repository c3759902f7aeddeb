/**
 * `worker_map`: run a CPU-heavy user function on worker threads, so a node with
 * `parallelism: n` keeps n cores busy instead of one.
 *
 * The config names a module and an export (functions cannot cross threads, so the module is
 * loaded *inside* each worker):
 *
 * ```yaml
 * transformations:
 *   score:
 *     type: worker_map
 *     inputs: [orders]
 *     parallelism: 2
 *     config: { module: ./transforms/score.ts, export: score, workers: 2 }
 * ```
 *
 * - `mode: record` (default): the export is `(record) => record | null | undefined`; `null` or
 *   `undefined` drops the record. It runs in a plain loop over the batch inside the worker.
 * - `mode: batch`: the export is `(records) => ReadonlyArray<record>` (or a promise of it), called
 *   once per batch.
 *
 * With `on_error: dead_letter` on the node: in record mode, a record the function throws on is
 * caught in the worker and set aside with its error (`WorkerMapError`, `reason: user`, the
 * record's index and the thread's stack), the rest of the batch goes on in order — the batch is
 * sent once. In batch mode the function's failure names no record: `pure: true` declares that
 * its output depends on its records only, so a failed batch is run again in halves to find the
 * records it fails on (as a pure `process`); without it `on_error: dead_letter` is refused.
 *
 * Batches cross the thread boundary by structured clone (measured faster than one JSON string
 * per batch here, and it keeps `Date`, `Map`, `BigInt` values intact). Relative `module` paths
 * resolve against the working directory of the process; TypeScript modules work (Node strips the
 * types; older Node 22 releases get `--experimental-strip-types` in the worker's options).
 *
 * **Lifetime**: threads start lazily, one per concurrently running batch, up to `workers`, and
 * are terminated when the scope that owns the pool closes. {@link make} takes that scope from the
 * caller. The processor made by {@link definition} offers the same scoped constructor as
 * `acquire` (for a runtime that opens processors in the node's scope); its `process` attaches the
 * pool to the scope of the task that calls it, and terminates it when the last such task ends.
 *
 * @since 0.1.0
 */
import { Effect, Exit, Option, Schema, Scope, Semaphore } from "effect"
import { existsSync } from "node:fs"
import { availableParallelism } from "node:os"
import { isAbsolute, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Batch from "../Batch.ts"
import * as Processor from "../Processor.ts"
import * as Spec from "../Spec.ts"
import * as Pool from "./internal/pool.ts"
import type { Mode } from "./internal/protocol.ts"
import type { WorkerMapError } from "./WorkerMapError.ts"
import { workerExecArgv } from "./internal/execArgv.ts"

/**
 * The config of a `worker_map` node. `module`: a path (`./x.ts`, `/abs/x.js`) or a `file:` URL;
 * `export`: the export to call (default `default`); `mode`: `record` (default) or `batch`;
 * `workers`: most threads for the node (default: the machine's available parallelism; threads
 * start only when batches run concurrently, so a node with `parallelism: 2` uses at most 2);
 * `max_heap_mb`: the old-generation heap limit of each thread (default: Node's), so runaway user
 * code fails the node with an out-of-memory `crash` instead of exhausting the process.
 *
 * @category config
 * @since 0.1.0
 */
export const WorkerMapConfig = Schema.Struct({
  module: Schema.String.annotate({ description: "The module holding the function: a path (./x.ts, /abs/x.js) or a file: URL" }),
  export: Schema.optionalKey(Schema.String.annotate({ description: "The export to call", default: "default" })),
  mode: Schema.optionalKey(Schema.Literals(["record", "batch"]).annotate({
    description: "The function takes one record, or a batch of records",
    default: "record"
  })),
  workers: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)).annotate({
    description: "The most threads for the node (default: the machine's available parallelism)"
  })),
  max_heap_mb: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)).annotate({
    description: "Each thread's old-generation heap limit in MB (default: Node's)"
  })),
  pure: Schema.optionalKey(Schema.Boolean.annotate({
    description: "mode: batch only: the function's output for a batch depends on its records only, so on_error: dead_letter may run a failed batch again in halves to find the records it fails on",
    default: false
  }))
}).check(Schema.makeFilter((c) =>
  c.pure === true && c.mode !== "batch"
    ? { path: ["pure"], issue: "pure applies to mode: batch (in mode: record, on_error: dead_letter catches each record's failure in the worker)" }
    : undefined
))

/**
 * @category config
 * @since 0.1.0
 */
export type WorkerMapConfig = typeof WorkerMapConfig.Type

/**
 * A running worker pool: `process` sends one batch to one thread and returns its output records;
 * `threads` counts the threads alive now, `started` the threads started so far.
 *
 * @category models
 * @since 0.1.0
 */
export interface WorkerMap {
  readonly process: (batch: Batch.Batch<unknown>) => Effect.Effect<ReadonlyArray<unknown>, WorkerMapError>
  readonly threads: () => number
  readonly started: () => number
}

/**
 * The processor made by {@link definition}: a batch processor whose `process` manages its pool
 * itself (see the module documentation), plus `acquire`, which opens a pool in a given scope and
 * returns the batch function bound to it (for a runtime that acquires processors per node).
 *
 * @category models
 * @since 0.1.0
 */
export interface WorkerMapProcessor extends Processor.BatchProcessor {
  readonly process: (batch: Batch.Batch<unknown>) => Effect.Effect<ReadonlyArray<unknown>, WorkerMapError>
  readonly acquire: Effect.Effect<
    (batch: Batch.Batch<unknown>) => Effect.Effect<ReadonlyArray<unknown>, WorkerMapError>,
    never,
    Scope.Scope
  >
}

/**
 * Options of {@link resolveConfig} and {@link make}: `cwd` is the directory relative module paths
 * resolve against (default `process.cwd()`).
 *
 * @category models
 * @since 0.1.0
 */
export interface ResolveOptions {
  readonly cwd?: string | undefined
}

/**
 * A config checked against the file system: `url` is the module's `file:` URL, `path` the file.
 *
 * @category models
 * @since 0.1.0
 */
export interface ResolvedConfig {
  readonly _tag: "ResolvedConfig"
  readonly module: string
  readonly url: string
  readonly path: string
  readonly export: string
  readonly mode: Mode
  readonly workers: number
  readonly maxHeapMb: number | undefined
  /** `mode: batch` declared pure (its failed batches can be bisected). */
  readonly pure: boolean
}

/**
 * Resolves the module of a config to a file and fills in the defaults. Returns a config issue
 * (at `module`) when the module is not a path or a `file:` URL, or the file does not exist.
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolveConfig = (
  config: WorkerMapConfig,
  options?: ResolveOptions
): ResolvedConfig | Processor.ProcessorConfigIssue => {
  const cwd = options?.cwd ?? process.cwd()
  const spec = config.module
  let path: string
  if (spec.startsWith("file:")) {
    path = fileURLToPath(spec)
  } else if (isAbsolute(spec) || spec.startsWith("./") || spec.startsWith("../")) {
    path = resolve(cwd, spec)
  } else {
    return Processor.configIssue(
      ["module"],
      `expected a path ('./transforms/heavy.ts', '/abs/heavy.js') or a file: URL, got '${spec}' (package names are not resolved)`
    )
  }
  if (!existsSync(path)) {
    return Processor.configIssue(["module"], `no such file: ${path} (relative paths resolve against ${cwd})`)
  }
  return {
    _tag: "ResolvedConfig",
    module: spec,
    url: pathToFileURL(path).href,
    path,
    export: config.export ?? "default",
    mode: config.mode ?? "record",
    workers: config.workers ?? availableParallelism(),
    maxHeapMb: config.max_heap_mb,
    pure: config.pure === true
  }
}

const poolOptions = (resolved: ResolvedConfig): Pool.PoolOptions => ({
  init: { url: resolved.url, export: resolved.export, mode: resolved.mode },
  size: resolved.workers,
  module: resolved.module,
  execArgv: workerExecArgv(),
  maxHeapMb: resolved.maxHeapMb
})

const processOn = (pool: Pool.Pool) => (batch: Batch.Batch<unknown>) =>
  Batch.isEmpty(batch) ? Effect.succeed<ReadonlyArray<unknown>>([]) : pool.run(Batch.toArray(batch))

/**
 * Opens a worker pool for a resolved config in the current scope; closing the scope terminates
 * every thread.
 *
 * @example
 * ```ts
 * Effect.scoped(Effect.gen(function*() {
 *   const resolved = WorkerMap.resolveConfig({ module: "./transforms/heavy.ts", export: "transform" })
 *   if (resolved._tag === "ProcessorConfigIssue") return
 *   const pool = yield* WorkerMap.make(resolved)
 *   const out = yield* pool.process(Batch.make([{ id: 1 }]))
 * }))
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (resolved: ResolvedConfig): Effect.Effect<WorkerMap, never, Scope.Scope> =>
  Effect.map(Pool.make(poolOptions(resolved)), (pool) => ({
    process: processOn(pool),
    threads: pool.threads,
    started: pool.started
  }))

/**
 * The processor for a resolved config (what `definition.make` returns). `acquire` opens a pool
 * in the caller's scope. `process` needs no setup: on its first batch in a scope (the runtime
 * runs every task in its own scope) it opens a shared pool, and closes it when the last scope
 * that used it closes; called where there is no scope at all, it runs the batch on a pool of its
 * own that lives for that batch only.
 *
 * @category constructors
 * @since 0.1.0
 */
export const processor = (resolved: ResolvedConfig): WorkerMapProcessor => {
  const options = poolOptions(resolved)
  interface Shared {
    readonly pool: Pool.Pool
    readonly scope: Scope.Closeable
    readonly users: WeakSet<Scope.Scope>
    count: number
  }
  let current: Shared | undefined
  const lock = Semaphore.makeUnsafe(1)
  const attach = (outer: Scope.Scope): Effect.Effect<Pool.Pool> =>
    Semaphore.withPermit(
      lock,
      Effect.gen(function*() {
        if (current?.users.has(outer)) return current.pool
        if (current === undefined) {
          const scope = Scope.makeUnsafe()
          const pool = yield* Scope.provide(Pool.make(options), scope)
          current = { pool, scope, users: new WeakSet(), count: 0 }
        }
        const shared = current
        shared.users.add(outer)
        shared.count += 1
        yield* Scope.addFinalizer(
          outer,
          Effect.suspend(() => {
            shared.count -= 1
            if (shared.count > 0) return Effect.void
            if (current === shared) current = undefined
            return Scope.close(shared.scope, Exit.void)
          })
        )
        return shared.pool
      })
    )
  /** Runs `use` on the pool of the calling task's scope (see the doc above). */
  const onPool = <A>(use: (pool: Pool.Pool) => Effect.Effect<A, WorkerMapError>): Effect.Effect<A, WorkerMapError> =>
    Effect.flatMap(Effect.serviceOption(Scope.Scope), (outer) => {
      if (Option.isNone(outer)) return Effect.scoped(Effect.flatMap(Pool.make(options), use))
      const shared = current
      if (shared?.users.has(outer.value)) return use(shared.pool)
      return Effect.flatMap(attach(outer.value), use)
    })
  const process = (batch: Batch.Batch<unknown>): Effect.Effect<ReadonlyArray<unknown>, WorkerMapError> =>
    Batch.isEmpty(batch) ? Effect.succeed([]) : onPool((pool) => pool.run(Batch.toArray(batch)))
  // record mode: each record's failure is caught in the worker, the others' output comes back
  const setAside = (batch: Batch.Batch<unknown>): Effect.Effect<Processor.SetAsideOutput, WorkerMapError> =>
    Batch.isEmpty(batch) ? Effect.succeed({ records: [], failed: [] }) : onPool((pool) => pool.runSettingAside(Batch.toArray(batch)))
  return {
    _tag: "Batch",
    process,
    acquire: Effect.map(Pool.make(options), processOn),
    ...(resolved.mode === "record" ? { setAside } : {}),
    ...(resolved.pure ? { pure: true } : {})
  }
}

/**
 * The `worker_map` processor definition, to register with the other processors. A module path
 * that is not a path or names no file is a definition error at `config.module`.
 *
 * @category definitions
 * @since 0.1.0
 */
export const definition: Processor.ProcessorDefinition<WorkerMapConfig> = Processor.define({
  type: "worker_map",
  description: "runs a CPU-heavy function from a module on worker threads (config: module, export, mode, workers)",
  config: WorkerMapConfig,
  make: (config) => {
    const resolved = resolveConfig(config)
    return resolved._tag === "ProcessorConfigIssue" ? resolved : processor(resolved)
  }
})

/**
 * A typed DSL spec of the `worker_map` processor: `I` is the record type the exported function
 * takes, `O` the type it returns (the compiler cannot see into the module, so say them).
 *
 * @example
 * ```ts
 * import { Processors } from "dataflare"
 * const scored = Processors.workerMapSpec<{ readonly text: string }, { readonly text: string; readonly score: number }>({
 *   module: "./score.js",
 *   export: "score"
 * })
 * ```
 * @category specs
 * @since 0.1.0
 */
export const spec = <I, O>(config: typeof WorkerMapConfig.Encoded): Spec.ProcessorSpec<I, O> =>
  Spec.processor<I, O>("worker_map", config)

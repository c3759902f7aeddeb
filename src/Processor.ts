/**
 * Processors: what a transformation node does to the batches that flow through it.
 *
 * A processor is one of two shapes:
 * - **stateless steps** ({@link Step}): `filter`, `map`, `flatMap` functions applied record by
 *   record in a plain loop. Consecutive stateless processors are fused into one loop per batch
 *   (see {@link runSteps}); no Effect and no Schema check per record.
 * - **a batch function** ({@link BatchProcessor}): an Effect per batch, for user processors that
 *   need services or I/O. It gets the whole batch, so there is still no Effect per record.
 * - **a stateful operator** ({@link StatefulProcessor}): keyed state (aggregates over windows,
 *   dedupe) kept in a {@link KeyedState} that checkpoints snapshot and restore. Records with the
 *   same key always meet the same operator instance, in order.
 *
 * A processor *definition* ({@link ProcessorDefinition}) has a `type` (the YAML verb, e.g.
 * `filter`), one config Schema and `make`, which turns a decoded config into a processor. Built-in
 * and user-registered processors are found through the same registry as connectors.
 *
 * @since 0.1.0
 */
import type { Effect, Schema } from "effect"
import type { Batch } from "./Batch.ts"
import type { DefinitionSite, RecordError } from "./Errors.ts"
import { placed } from "./internal/recordPlace.ts"
import type { KeyedState } from "./State.ts"

/**
 * One stateless per-record step. `filter` keeps records for which `f` is true; `map` replaces a
 * record by `f(record)`; `flatMap` replaces it by zero or more records.
 *
 * @category models
 * @since 0.1.0
 */
export type Step =
  | { readonly _tag: "filter"; readonly f: (record: unknown) => boolean }
  | { readonly _tag: "map"; readonly f: (record: unknown) => unknown }
  | { readonly _tag: "flatMap"; readonly f: (record: unknown) => Iterable<unknown> }

/**
 * A fusable processor: a list of stateless steps.
 *
 * @category models
 * @since 0.1.0
 */
export interface StatelessProcessor {
  readonly _tag: "Stateless"
  readonly steps: ReadonlyArray<Step>
}

/**
 * A processor that handles a whole batch in one Effect (user processors that need services or
 * I/O). It must return the output records of the batch.
 *
 * @category models
 * @since 0.1.0
 */
export interface BatchProcessor {
  readonly _tag: "Batch"
  readonly process: (batch: Batch<unknown>) => Effect.Effect<ReadonlyArray<unknown>, RecordError | Error>
  /**
   * The function is pure over its records: its output for a batch depends on those records
   * only, and running it again on part of a batch changes nothing else. Only then can
   * `on_error: dead_letter` find a failing batch's bad records, by running it again on halves of
   * the batch (bisection). Without it, `on_error: dead_letter` is refused.
   */
  readonly pure?: boolean | undefined
  /**
   * The batch function that sets records aside itself: it runs over the whole batch once and
   * says which records (`index`: 0-based in the batch) it failed on and why, with the output of
   * the others, in input order (e.g. `worker_map` in record mode, whose threads catch each
   * record's failure). With it, `on_error: dead_letter` sends those records to the node's dead
   * letters without running anything again; without it (and without `pure`) it is refused.
   */
  readonly setAside?: ((batch: Batch<unknown>) => Effect.Effect<SetAsideOutput, RecordError | Error>) | undefined
}

/**
 * What a {@link BatchProcessor.setAside} returns: the output records of the records it did not
 * fail on, in input order, and the records it failed on (0-based index in the batch, error).
 *
 * @category models
 * @since 0.5.0
 */
export interface SetAsideOutput {
  readonly records: ReadonlyArray<unknown>
  readonly failed: ReadonlyArray<{ readonly index: number; readonly error: unknown }>
}

/**
 * What a stateful operator emits for a batch: records for its main output and, per named side
 * output (e.g. `late`), records for that port.
 *
 * @category models
 * @since 0.1.0
 */
export interface OperatorOutput {
  readonly records: ReadonlyArray<unknown>
  readonly side?: { readonly [port: string]: ReadonlyArray<unknown> }
}

/**
 * One instance of a stateful operator. The runtime calls `onBatch` for every input batch in
 * order, and `onEnd` once when the input is exhausted (to emit what is still held, e.g. open
 * windows). All of its state lives in `state`, so a checkpoint can snapshot it and a restore can
 * put it back before `onBatch` is called again.
 *
 * @category models
 * @since 0.1.0
 */
export interface Operator {
  readonly onBatch: (batch: Batch<unknown>) => OperatorOutput
  readonly onEnd: () => OperatorOutput
  readonly state: KeyedState<unknown>
}

/**
 * What a stateful operator instance is made with.
 *
 * @category models
 * @since 0.1.0
 */
export interface OperatorContext {
  readonly node: string
  readonly instance: number
  /**
   * Given when the node sets bad records aside (`on_error: dead_letter`, for a processor with
   * `deadLetters: true`): the operator calls it, instead of throwing, with a record it cannot
   * take (a missing event time, a field of the wrong type), the error and the record's index in
   * the batch's `records`, and leaves its state as if the record had not come.
   */
  readonly setAside?: ((record: unknown, error: unknown, index: number) => void) | undefined
}

/**
 * A keyed stateful processor. `key` extracts the partitioning key (the `key_by` of the node) so
 * that with `parallelism: n` all records of one key go to the same instance. `ports` names the
 * side outputs it may emit to (another node reads one as input `"<node>.<port>"`).
 * `stateSchema` encodes one state value to JSON and back (versioned by `stateVersion`), for
 * checkpoints.
 *
 * @category models
 * @since 0.1.0
 */
export interface StatefulProcessor {
  readonly _tag: "Stateful"
  readonly key: ((record: unknown) => unknown) | undefined
  readonly ports: ReadonlyArray<string>
  readonly stateSchema: Schema.Codec<unknown, unknown>
  readonly stateVersion: number
  /**
   * Turns a state value encoded by an older `stateVersion` into one of the current version (still
   * encoded). Returns `undefined` for a version it cannot migrate: the restore is then refused.
   */
  readonly migrate?: ((fromVersion: number, encoded: unknown) => { readonly value: unknown } | undefined) | undefined
  readonly make: (context: OperatorContext) => Operator
  /**
   * The operator sets bad records aside through {@link OperatorContext.setAside} (so the node
   * accepts `on_error: dead_letter`): it evaluates what can fail on a record before it changes
   * its state, so a record it sets aside leaves the state as it was.
   */
  readonly deadLetters?: boolean | undefined
  /**
   * The partitioning key of a state entry (in memory, not encoded): `{ key }` with the value `key`
   * returns for the records that built it, or `undefined` for an entry that belongs to the whole
   * instance (e.g. its event-time clock). With it, checkpoints record the key group of every
   * entry, and the node's parallelism can change between runs: each instance is restored with
   * the entries of the key groups it owns. Without it, a parallelism change is refused.
   */
  readonly keyOfEntry?: ((stateKey: string, value: unknown) => { readonly key: unknown } | undefined) | undefined
  /**
   * Combines the instance-wide entries (those `keyOfEntry` gives no key) of the instances whose
   * key groups a restored instance takes over after a parallelism change (decoded values, one per
   * old instance). Without it, such entries keep the first instance's value.
   */
  readonly mergeEntries?: ((stateKey: string, values: ReadonlyArray<unknown>) => unknown) | undefined
  /**
   * What the operator's state depends on, as plain JSON data (e.g. group fields, window, the
   * aggregates): stored with each checkpoint and compared on restore, so a change the state cannot
   * follow is refused, naming the fields that changed. Default: the node's whole config.
   */
  readonly fingerprint?: unknown
}

/**
 * What a processor node runs.
 *
 * @category models
 * @since 0.1.0
 */
export type Processor = StatelessProcessor | BatchProcessor | StatefulProcessor

/**
 * What a processor gets when it is made for a node.
 *
 * @category models
 * @since 0.1.0
 */
export interface MakeContext {
  readonly node: string
  /**
   * Where a key of the node's config (`["condition"]`) is written in the workflow, at the
   * 1-based `column` inside its value when given: a processor that can fail on a record because
   * of its config (an expression) puts it in the `RecordError` (`definition`), so the error names
   * the file, line and column. Absent when the processor is made outside a workflow.
   */
  readonly site?: (path: ReadonlyArray<PropertyKey>, column?: number) => DefinitionSite
}

/**
 * A processor definition: YAML `type`, config Schema, and a function from a decoded config to a
 * processor. `make` may fail with a message (e.g. an expression that does not compile) that is
 * reported as a definition error at the config path `path` (relative to `config`).
 *
 * @category models
 * @since 0.1.0
 */
export interface ProcessorDefinition<Config> {
  readonly _tag: "ProcessorDefinition"
  readonly type: string
  readonly apiVersion: number
  readonly description: string
  readonly config: Schema.Decoder<Config>
  make(config: Config, context: MakeContext): Processor | ProcessorConfigIssue
}

/**
 * A problem with a processor's config found by `make` (for example, an expression that does not
 * parse). `path` is relative to the node's `config`, `column` is a 1-based column inside the
 * config value when it is known.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProcessorConfigIssue {
  readonly _tag: "ProcessorConfigIssue"
  readonly path: ReadonlyArray<string | number>
  readonly message: string
  readonly column?: number
}

/**
 * Defines a processor (fills in `_tag` and the API version).
 *
 * @category constructors
 * @since 0.1.0
 */
export const define = <Config>(
  definition: Omit<ProcessorDefinition<Config>, "_tag" | "apiVersion"> & { readonly apiVersion?: number }
): ProcessorDefinition<Config> => ({ apiVersion: 1, ...definition, _tag: "ProcessorDefinition" })

/**
 * A stateless processor from steps.
 *
 * @category constructors
 * @since 0.1.0
 */
export const stateless = (...steps: ReadonlyArray<Step>): StatelessProcessor => ({ _tag: "Stateless", steps })

/**
 * A config issue, returned from `make`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const configIssue = (
  path: ReadonlyArray<string | number>,
  message: string,
  column?: number
): ProcessorConfigIssue => (column === undefined
  ? { _tag: "ProcessorConfigIssue", path, message }
  : { _tag: "ProcessorConfigIssue", path, message, column })

/**
 * A fused chain of steps: `run` applies all of them to a batch in one loop. `reached[k]` counts
 * the records that entered step `k` (and `reached[steps.length]` the records that came out), over
 * every batch so far, so per-node counts are known without wrapping the steps. After a step
 * throws, `failedStep` says which one.
 *
 * @category fusion
 * @since 0.1.0
 */
export interface Fused {
  readonly run: (batch: Batch<unknown>) => Array<unknown>
  readonly reached: Float64Array
  readonly failedStep: () => number
}

/**
 * Compiles a list of steps into one loop per batch (operator fusion): a chain of filter/map steps
 * costs one pass over the batch and one output array, with no closure per record. Chains of one
 * or two filter/map steps get loops of their own, which V8 optimizes like a hand-written loop.
 *
 * **Gotchas**: an exception thrown by a step propagates to the caller, which fails the task with
 * an error naming the node (see `failedStep`).
 *
 * @category fusion
 * @since 0.1.0
 */
export const fuse = (steps: ReadonlyArray<Step>): Fused => {
  const n = steps.length
  const reached = new Float64Array(n + 1)
  let failed = -1
  const failedStep = () => failed
  if (n === 0) {
    return {
      reached,
      failedStep,
      run: (batch) => {
        const out = batch.records.slice(batch.start, batch.end)
        reached[0] += out.length
        return out
      }
    }
  }
  if (steps.every((s) => s._tag !== "flatMap")) {
    const s0 = steps[0]
    const s1 = steps[1]
    if (n === 1 && s0._tag === "filter") {
      const f = s0.f
      return {
        reached,
        failedStep,
        run: (batch) => {
          const { records, start, end } = batch
          const out: Array<unknown> = []
          failed = 0
          let i = start
          try {
            for (; i < end; i++) if (f(records[i])) out.push(records[i])
          } catch (e) {
            throw placed(e, batch, i)
          }
          failed = -1
          reached[0] += end - start
          reached[1] += out.length
          return out
        }
      }
    }
    if (n === 1 && s0._tag === "map") {
      const f = s0.f
      return {
        reached,
        failedStep,
        run: (batch) => {
          const { records, start, end } = batch
          const out: Array<unknown> = new Array(end - start)
          failed = 0
          let i = start
          try {
            for (; i < end; i++) out[i - start] = f(records[i])
          } catch (e) {
            throw placed(e, batch, i)
          }
          failed = -1
          reached[0] += end - start
          reached[1] += end - start
          return out
        }
      }
    }
    if (n === 2 && s0._tag === "filter" && s1._tag === "map") {
      const f = s0.f
      const g = s1.f
      return {
        reached,
        failedStep,
        run: (batch) => {
          const { records, start, end } = batch
          const out: Array<unknown> = []
          let k = 0
          let i = start
          try {
            for (; i < end; i++) {
              k = 0
              const r = records[i]
              if (f(r)) {
                k = 1
                out.push(g(r))
              }
            }
          } catch (e) {
            failed = k
            throw placed(e, batch, i)
          }
          reached[0] += end - start
          reached[1] += out.length
          reached[2] += out.length
          return out
        }
      }
    }
    const kinds = Int8Array.from(steps, (s) => (s._tag === "filter" ? 0 : 1))
    const fns = steps.map((s) => s.f) as ReadonlyArray<(r: unknown) => unknown>
    // dropped[k]: records a filter at step k dropped in this batch
    const dropped = new Float64Array(n)
    return {
      reached,
      failedStep,
      run: (batch) => {
        const { records, start, end } = batch
        const out: Array<unknown> = []
        dropped.fill(0)
        let k = 0
        let i = start
        try {
          outer: for (; i < end; i++) {
            let r = records[i]
            for (k = 0; k < n; k++) {
              if (kinds[k] === 0) {
                if (!fns[k](r)) {
                  dropped[k]++
                  continue outer
                }
              } else {
                r = fns[k](r)
              }
            }
            out.push(r)
          }
        } catch (e) {
          failed = k
          throw placed(e, batch, i)
        }
        let alive = end - start
        for (let j = 0; j < n; j++) {
          reached[j] += alive
          alive -= dropped[j]
        }
        reached[n] += alive
        return out
      }
    }
  }
  let current = 0
  const go = (r: unknown, k0: number, out: Array<unknown>): void => {
    for (let k = k0; k < n; k++) {
      current = k
      reached[k]++
      const s = steps[k]
      switch (s._tag) {
        case "filter":
          if (!s.f(r)) return
          break
        case "map":
          r = s.f(r)
          break
        case "flatMap":
          for (const x of s.f(r)) go(x, k + 1, out)
          return
      }
    }
    reached[n]++
    out.push(r)
  }
  return {
    reached,
    failedStep,
    run: (batch) => {
      const { records, start, end } = batch
      const out: Array<unknown> = []
      let i = start
      try {
        for (; i < end; i++) go(records[i], 0, out)
      } catch (e) {
        failed = current
        throw placed(e, batch, i)
      }
      return out
    }
  }
}

/**
 * Compiles a list of steps into one function that runs them over a batch in a single loop and
 * returns the output records (see {@link fuse}).
 *
 * @category fusion
 * @since 0.1.0
 */
export const runSteps = (steps: ReadonlyArray<Step>): ((batch: Batch<unknown>) => Array<unknown>) => fuse(steps).run

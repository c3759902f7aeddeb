/**
 * `process` (DSL only): a user batch processor, one Effect per batch.
 *
 * `fn` gets the records of a batch and returns the output records as an Effect, so it may use
 * I/O (the runtime provides no services: the Effect must need none). Its output covers the same
 * source positions as its input batch. A failure whose value is an `Error` fails the workflow
 * with that error (named by node); any other failure value is wrapped in a `RecordError`; a
 * synchronous throw from `fn` is treated as a failure too.
 *
 * Declared `pure` (config `pure: true`, `processSpec(fn, { pure: true })`), the node accepts
 * `on_error: dead_letter`: a batch `fn` fails on is run again in halves to find the records it
 * fails on alone (see `bisectingProcess` in the transform task).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as Batch from "../Batch.ts"
import { RecordError } from "../Errors.ts"
import * as Processor from "../Processor.ts"
import * as Spec from "../Spec.ts"
import { fn } from "./internal/schema.ts"

/**
 * The function type of a batch processor.
 *
 * @category models
 * @since 0.1.0
 */
export type BatchFunction<A, B, E> = (records: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<B>, E>

/**
 * The config Schema of `process`: `fn`, the batch function.
 *
 * @category config
 * @since 0.1.0
 */
export const ProcessConfig = Schema.Struct({
  fn: fn<BatchFunction<unknown, unknown, unknown>>("a function (records) => Effect<records>"),
  pure: Schema.optionalKey(Schema.Boolean.annotate({
    description:
      "fn's output for a batch depends on its records only, and running it again on part of a batch changes nothing else; needed by on_error: dead_letter, which runs a failed batch again in halves to find the records it fails on"
  }))
})

/**
 * The decoded config of `process`.
 *
 * @category config
 * @since 0.1.0
 */
export type ProcessConfig = typeof ProcessConfig.Type

const toError = (e: unknown): RecordError | Error =>
  e instanceof Error ? e : new RecordError({ detail: `process failed: ${typeof e === "string" ? e : JSON.stringify(e) ?? String(e)}` })

/**
 * The `process` processor definition (type `process`, used by the DSL).
 *
 * @category definitions
 * @since 0.1.0
 */
export const ProcessDefinition: Processor.ProcessorDefinition<ProcessConfig> = Processor.define({
  type: "process",
  description: "runs a user function over each batch as an Effect (DSL only)",
  config: ProcessConfig,
  make: (config) => {
    const f = config.fn
    return {
      _tag: "Batch",
      process: (batch) =>
        Effect.try({ try: () => f(Batch.toArray(batch)), catch: toError }).pipe(
          Effect.flatten,
          Effect.mapError(toError)
        ),
      pure: config.pure === true
    }
  }
})

/**
 * Options of {@link processSpec}.
 *
 * @category specs
 * @since 0.6.0
 */
export interface ProcessOptions {
  /**
   * The function is pure over its records (see {@link ProcessConfig}): with it, the node accepts
   * `on_error: dead_letter`, and a batch the function fails on is run again in halves until the
   * records it fails on alone are found and set aside.
   */
  readonly pure?: boolean
}

/**
 * A typed `process` spec for the DSL.
 *
 * @example
 * ```ts
 * processSpec((orders: ReadonlyArray<Order>) => Effect.succeed(orders.filter((o) => o.ok)))
 * // pure: a failing batch can be bisected to set its bad records aside
 * processSpec(priceAll, { pure: true })
 * ```
 * @category specs
 * @since 0.1.0
 */
export const processSpec = <A, B, E>(f: BatchFunction<A, B, E>, options?: ProcessOptions): Spec.ProcessorSpec<A, B> =>
  Spec.processor<A, B>("process", options?.pure === true ? { fn: f, pure: true } : { fn: f })

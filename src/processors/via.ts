/**
 * `via` (DSL only): a user's Effect `Stream` transformation, applied to each batch.
 *
 * `fn` gets a stream of one batch's records and returns the stream of output records; the
 * output covers the same source positions as the input batch. It is applied to every batch on
 * its own — a stateful stream operator (`Stream.take`, `Stream.grouped`, a scan) restarts at
 * every batch — so it is for stateless transformations only, and it is never fused with the
 * steps around it. A failure of the stream fails the workflow with that error (named by node) when
 * it is an `Error`, else wrapped in a `RecordError`; the stream runs with the services of the
 * fiber that runs the workflow (the DSL's types make its caller provide them).
 *
 * A failed stream names no record (its partial output is discarded with it). Declared `pure`
 * (`viaSpec(f, { pure: true })`, `.via(id, f, { pure: true })`) — its output for a batch depends
 * on those records only and running it again on part of a batch repeats no effect — the node
 * takes `on_error: dead_letter`: a failed batch is run again in halves down to single records, the
 * records it fails on alone are set aside, the others' output goes on in input order (as a pure
 * `process`). Not declared pure, `on_error: dead_letter` is refused: a stream that writes
 * somewhere or counts would repeat that on the halves.
 *
 * @since 0.1.0
 */
import { Effect, Schema, Stream } from "effect"
import * as Batch from "../Batch.ts"
import { RecordError } from "../Errors.ts"
import * as Processor from "../Processor.ts"
import * as Spec from "../Spec.ts"
import { fn } from "./internal/schema.ts"

/**
 * The function type of a stream step (at the untyped boundary).
 *
 * @category models
 * @since 0.1.0
 */
export type StreamFunction = (records: Stream.Stream<unknown>) => Stream.Stream<unknown, unknown>

/**
 * The config Schema of `via`: `fn`, the stream transformation.
 *
 * @category config
 * @since 0.1.0
 */
export const ViaConfig = Schema.Struct({
  fn: fn<StreamFunction>("a function (records: Stream) => Stream"),
  pure: Schema.optionalKey(Schema.Boolean.annotate({
    description: "The stream's output for a batch depends on its records only and running it again on part of a batch repeats no effect: on_error: dead_letter may then run a failed batch again in halves to find the records it fails on",
    default: false
  }))
})

/**
 * The decoded config of `via`.
 *
 * @category config
 * @since 0.1.0
 */
export type ViaConfig = typeof ViaConfig.Type

const toError = (e: unknown): RecordError | Error =>
  e instanceof Error ? e : new RecordError({ detail: `stream step failed: ${typeof e === "string" ? e : JSON.stringify(e) ?? String(e)}` })

/**
 * The `via` processor definition (type `via`, used by the DSL).
 *
 * @category definitions
 * @since 0.1.0
 */
export const ViaDefinition: Processor.ProcessorDefinition<ViaConfig> = Processor.define({
  type: "via",
  description: "applies a user's Effect Stream transformation to each batch (DSL only)",
  config: ViaConfig,
  make: (config) => {
    const f = config.fn
    return {
      _tag: "Batch",
      pure: config.pure === true,
      process: (batch) =>
        Effect.try({ try: () => f(Stream.fromIterable(Batch.toArray(batch))), catch: toError }).pipe(
          Effect.flatMap(Stream.runCollect),
          Effect.mapError(toError)
        )
    }
  }
})

/**
 * A typed `via` spec: a Stream transformation applied to each batch (what `.via(id, fn)` of the
 * DSL builders puts in the graph). Its error type and services are the spec's `E` and `R`.
 * `{ pure: true }`: see the module doc (its failed records can then be set aside).
 *
 * @example
 * ```ts
 * viaSpec((orders: Stream.Stream<Order>) => Stream.filter(orders, (o) => o.ok))
 * ```
 * @category specs
 * @since 0.1.0
 */
export const viaSpec = <A, B, E = never, R = never>(
  f: (records: Stream.Stream<A>) => Stream.Stream<B, E, R>,
  options?: { readonly pure?: boolean | undefined }
): Spec.ProcessorSpec<A, B, E, R> => Spec.processor<A, B, E, R>("via", options?.pure === true ? { fn: f, pure: true } : { fn: f })

/**
 * Effect Streams in and out: any `Stream` as a source, any `Sink` (or a function per batch) as a
 * destination. Their error type `E` and their services `R` become the pipeline's: `Pipeline.run`
 * fails with `E` (as the cause of the failed node's `NodeError`) and requires `R`. The other way
 * round, `Pipeline.toStream` and `Workflow.toStream` run a workflow as a `Stream` of its output
 * records, and `.via(id, (s) => Stream)` applies a Stream transformation as a step.
 *
 * @example
 * ```ts
 * import { Effect, Queue, Sink, Stream } from "effect"
 * import { Pipeline, Streams } from "dataflare/dsl"
 *
 * const pipeline = Pipeline.from("events", Streams.source(Stream.fromQueue(queue)))
 *   .filter("valid", (e) => e.valid)
 *   .to("out", Streams.sink(Sink.forEach((e: Event) => Effect.log(e))))
 * ```
 * @since 0.1.0
 */
import { type Effect, type Schema, Sink, type Stream } from "effect"
import * as Spec from "../src/Spec.ts"

/**
 * Options of the resumable form of {@link source}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ResumableOptions<P> {
  /**
   * The Schema of the positions: checkpoints store them encoded as JSON, and a restore decodes
   * the stored one before calling the factory with it.
   */
  readonly position: Schema.Codec<P, unknown>
}

/**
 * Options of the function form of {@link sink}.
 *
 * @category models
 * @since 0.1.0
 */
export interface WriteOptions<E, R> {
  /**
   * Makes everything written so far durable: called before a checkpoint completes and at the
   * end of the input.
   */
  readonly flush?: Effect.Effect<unknown, E, R> | undefined
}

/**
 * An Effect `Stream` as a source (node type `stream`). Two forms:
 *
 * - `Streams.source(stream)`: the stream's elements are the records. It cannot be replayed: a
 *   workflow with checkpoints refuses to restore it to a checkpoint taken after it produced
 *   records (start from scratch, or use the resumable form).
 * - `Streams.source((from) => stream, { position })`: a factory giving each record with the
 *   position after it, `Stream<readonly [A, P]>`, from the last checkpointed position
 *   (`undefined`: from the start). Checkpoints, restarts after a failure, graceful stops and
 *   `checkRestoreEquivalence` work with it.
 *
 * The stream runs ahead of the pipeline by at most two of its chunks (a slow pipeline slows it), with
 * the services of the fiber that runs the workflow; its failure fails the node with the
 * stream's own error. The node runs with parallelism 1 (an explicit `parallelism` above 1 is
 * refused when the workflow is prepared).
 *
 * **Gotchas**: the stream is run again by every run of the workflow (and by every restart): a
 * stream over a `Queue` continues where the queue is, one over an array starts over.
 *
 * @example
 * ```ts
 * // records 0..999, resumable by index
 * const numbers = Streams.source(
 *   (from: number | undefined) => Stream.range(from ?? 0, 999).pipe(Stream.map((i) => [{ id: i }, i + 1] as const)),
 *   { position: Schema.Number }
 * )
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const source: {
  <A, E = never, R = never>(stream: Stream.Stream<A, E, R>): Spec.SourceSpec<A, E, R>
  <A, P, E = never, R = never>(
    from: (from: P | undefined) => Stream.Stream<readonly [A, P], E, R>,
    options: ResumableOptions<P>
  ): Spec.SourceSpec<A, E, R>
} = (
  stream: Stream.Stream<unknown, unknown, unknown> | ((from: never) => Stream.Stream<readonly [unknown, unknown], unknown, unknown>),
  options?: ResumableOptions<unknown>
): Spec.SourceSpec<unknown, unknown, unknown> =>
  typeof stream === "function"
    ? Spec.source("stream", { from: stream, position: options?.position })
    : Spec.source("stream", { stream })

/**
 * An Effect `Sink`, or a function per batch, as a destination (node type `stream`). Two forms:
 *
 * - `Streams.sink(sink)`: the sink reads, for the life of the node, a stream of the records the
 *   node receives, one batch at a time, taking the next only when it asks (backpressure). A
 *   checkpoint completes once the sink has asked for more after every record before it. A sink
 *   that stops reading while records keep coming (`Sink.take(n)`) fails the node rather than
 *   dropping them.
 * - `Streams.sink((records) => effect, { flush })`: the runtime waits on `effect` for each
 *   batch, and on `flush` before a checkpoint completes and at the end.
 *
 * Both are at-least-once: after a restore, the records since the last checkpoint are written
 * again. A failure fails the node with the sink's own error.
 *
 * @example
 * ```ts
 * Pipeline.from("in", source).to("out", Streams.sink(Sink.forEach((r: Order) => Effect.log(r.id))))
 * Pipeline.from("in", source).to("db", Streams.sink((orders: ReadonlyArray<Order>) => insertAll(orders)))
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const sink: {
  <A, E = never, R = never>(sink: Sink.Sink<unknown, A, unknown, E, R>): Spec.SinkSpec<A, E, R>
  <A, E = never, R = never>(
    write: (records: ReadonlyArray<A>) => Effect.Effect<unknown, E, R>,
    options?: WriteOptions<E, R>
  ): Spec.SinkSpec<A, E, R>
} = (
  target: Sink.Sink<unknown, never, unknown, unknown, unknown> | ((records: never) => Effect.Effect<unknown, unknown, unknown>),
  options?: WriteOptions<unknown, unknown>
): Spec.SinkSpec<unknown, unknown, unknown> =>
  Sink.isSink(target)
    ? Spec.sink("stream", { sink: target })
    : Spec.sink("stream", { write: target, ...(options?.flush !== undefined ? { flush: options.flush } : {}) })

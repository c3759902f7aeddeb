/**
 * The `stream` sink (DSL only): an Effect `Sink`, or a function per batch, as a destination.
 *
 * Two forms, set by the typed constructor `Streams.sink` of `dataflare/dsl`:
 * - `{ sink }`: an Effect `Sink` runs, for the life of the task, over a stream of the records
 *   the node receives. The stream hands the sink one batch at a time and takes the next only
 *   when the sink asks for it: a slow sink slows the pipeline (backpressure). A checkpoint's
 *   flush waits until the sink has asked for more after every record before it. A sink that
 *   completes while records keep coming (e.g. `Sink.take(n)`) fails the node instead of
 *   dropping them; at the end of the input the sink sees the end of its stream, and the task
 *   waits for it to complete.
 * - `{ write, flush? }`: `write(records)` per batch (the runtime waits on it), `flush` before a
 *   checkpoint completes and at the end.
 *
 * Both are at-least-once: after a restore, the records since the last checkpoint are written
 * again. A failure of the sink or of `write` fails the node with the user's own error as the
 * `NodeError`'s cause. The user code runs with the services of the fiber that runs the workflow
 * (the DSL's types make its caller provide them).
 *
 * @since 0.1.0
 */
import { Array as Arr, Cause, Deferred, Effect, Exit, Fiber, type Pull, Queue, Schema, type Scope, Sink } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { ConfigurationError, ConnectorError, RejectedError } from "../../Errors.ts"
import * as Capabilities from "../kit/Capabilities.ts"

const CONNECTOR = "stream"

/**
 * A function that writes one batch of records.
 *
 * @category models
 * @since 0.1.0
 */
export type Write = (records: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>

// The services a user's sink needs are the workflow caller's to provide (the DSL's types say
// so); at this untyped boundary a sink is one that the run's fiber can run.
const isSink = (u: unknown): u is Sink.Sink<unknown, unknown, unknown, unknown> => Sink.isSink(u)

/**
 * The `stream` sink config: `sink` (an Effect Sink), or `write` (a function per batch) with an
 * optional `flush` Effect.
 *
 * @category schemas
 * @since 0.1.0
 */
export const StreamSinkConfig = Schema.Struct({
  sink: Schema.optionalKey(Schema.declare(isSink, { expected: "an Effect Sink (made by Streams.sink of dataflare/dsl)" })),
  write: Schema.optionalKey(Schema.declare((u: unknown): u is Write => typeof u === "function", {
    expected: "a function (records) => Effect (made by Streams.sink of dataflare/dsl)"
  })),
  flush: Schema.optionalKey(Schema.declare((u: unknown): u is Effect.Effect<unknown, unknown> => Effect.isEffect(u), {
    expected: "an Effect"
  }))
}).check(
  Schema.makeFilter((c) =>
    (c.sink !== undefined) !== (c.write !== undefined) && (c.flush === undefined || c.write !== undefined)
      ? true
      : "a stream sink is made by Streams.sink of dataflare/dsl: `sink` (an Effect Sink), or `write` (and `flush`); YAML cannot write one"
  )
)

/**
 * @category models
 * @since 0.1.0
 */
export type StreamSinkConfig = typeof StreamSinkConfig.Type

/** The user code failed: its own error is the node's failure (it travels as a defect through the connector boundary, which only types connector errors; the runtime names the node). */
const userFailure = (cause: Cause.Cause<unknown>) => Effect.die(Cause.squash(cause))

const writeFunction = (write: Write, flush: Effect.Effect<unknown, unknown> | undefined): Connector.SinkWriter<unknown> => ({
  writeBatch: (batch) =>
    write(Batch.toArray(batch)).pipe(
      Effect.catchCause(userFailure),
      Effect.as({ written: Batch.size(batch) })
    ),
  flush: flush === undefined ? Effect.void : flush.pipe(Effect.catchCause(userFailure), Effect.asVoid)
})

type Item =
  | { readonly _tag: "Records"; readonly records: ReadonlyArray<unknown> }
  | { readonly _tag: "Flush"; readonly done: Deferred.Deferred<void> }

/**
 * A writer over an Effect Sink running in the task's scope, fed through a queue of one item: the
 * sink's stream takes a batch only when the sink pulls, and resolves a flush marker when the sink
 * pulls after every batch before it. A sink that stops reading (it completed, or left records
 * unread) while records remain fails the node when the next write or flush finds out.
 */
const runSink = (
  sink: Sink.Sink<unknown, unknown, unknown, unknown>,
  context: Connector.OpenContext
): Effect.Effect<Connector.SinkWriter<unknown>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const queue = yield* Queue.bounded<Item, Cause.Done>(1)
    let taken = 0
    let offered = 0
    const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<unknown>> = Effect.gen(function*() {
      while (true) {
        const item = yield* Queue.take(queue)
        if (item._tag === "Flush") {
          yield* Deferred.succeed(item.done, undefined)
          continue
        }
        taken += item.records.length
        if (Arr.isReadonlyArrayNonEmpty(item.records)) return item.records
      }
    })
    const fiber = yield* Effect.forkIn(sink.transform(pull, scope), scope)
    const lost = (left: number) =>
      Effect.fail(
        new ConnectorError({
          connector: CONNECTOR,
          operation: "write",
          reason: new RejectedError({
            message: `the Effect Sink of node '${context.node}' stopped reading after ${
              offered - left
            } of ${offered} records: ${left} would be lost (give it a sink that reads its whole input)`
          })
        })
      )
    /** What the sink's end means for the records given to it so far. */
    const ended = (exit: Exit.Exit<Sink.End<unknown, unknown>, unknown>) => {
      if (Exit.isFailure(exit)) return userFailure(exit.cause)
      const left = (exit.value[1]?.length ?? 0) + (offered - taken)
      return left > 0 ? lost(left) : Effect.void
    }
    yield* Effect.addFinalizer((exit) =>
      Exit.isSuccess(exit)
        // the input ended: the sink sees the end of its stream; wait for it to complete
        ? Queue.end(queue).pipe(Effect.andThen(Fiber.await(fiber)), Effect.flatMap(ended), Effect.orDie)
        : Effect.andThen(Queue.shutdown(queue), Fiber.interrupt(fiber))
    )
    return {
      writeBatch: (batch) => {
        const n = Batch.size(batch)
        // a sink that has ended takes no more: these records would be lost
        offered += n
        const refused = Effect.flatMap(Fiber.await(fiber), (exit) => Effect.andThen(ended(exit), lost(n)))
        if (fiber.pollUnsafe() !== undefined) return refused
        return Effect.raceFirst(Effect.as(Queue.offer(queue, { _tag: "Records", records: Batch.toArray(batch) }), { written: n }), refused)
      },
      flush: Effect.raceFirst(
        Effect.gen(function*() {
          const done = yield* Deferred.make<void>()
          yield* Queue.offer(queue, { _tag: "Flush", done })
          yield* Deferred.await(done)
        }),
        Effect.flatMap(Fiber.await(fiber), ended)
      )
    }
  })

/**
 * The `stream` sink definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const StreamSink: Connector.SinkDefinition<StreamSinkConfig, unknown> = Connector.sink({
  type: CONNECTOR,
  description: "Writes to an Effect Sink or a function per batch (DSL only: Streams.sink)",
  config: StreamSinkConfig,
  capabilities: Capabilities.atLeastOnceSink,
  check: () => Effect.void,
  open: (config, context) =>
    config.sink !== undefined
      ? runSink(config.sink, context)
      : config.write !== undefined
      ? Effect.succeed(writeFunction(config.write, config.flush))
      // (the config Schema refuses a config with neither)
      : Effect.fail(
        new ConnectorError({
          connector: CONNECTOR,
          operation: "open",
          reason: new ConfigurationError({ message: `sink '${context.node}' has no Sink or write function: make it with Streams.sink` })
        })
      )
})

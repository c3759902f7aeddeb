/**
 * The `stream` source (DSL only): any Effect `Stream` as a workflow source.
 *
 * Two forms, set by the typed constructor `Streams.source` of `dataflare/dsl`:
 * - `{ stream }`: the stream's elements are the records. It cannot be replayed, so it cannot
 *   resume from a checkpoint taken after it produced records: a restore to such a checkpoint is
 *   refused (a permanent error naming the node and the way out), never answered with a stream
 *   that silently skips or repeats records.
 * - `{ from, position }`: a factory `(from: P | undefined) => Stream<readonly [A, P]>` giving
 *   each record with the position after it, and the Schema of `P`. Checkpoints store the
 *   position of the last record read (encoded by the Schema as JSON); a restore calls the
 *   factory again with it. Checkpoints, restarts and `checkRestoreEquivalence` work with it.
 *
 * The stream runs in a fiber of the source's task (its services are those of the fiber that
 * runs the workflow: the DSL's types make its caller provide them), ahead of the pipeline by at
 * most one batch: a bounded buffer, so a slow pipeline slows the stream. A stream failure fails
 * the node with the stream's own error as the `NodeError`'s cause.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, Fiber, Pull, Queue, Schema, type Scope, Stream } from "effect"
import * as Batch from "../../Batch.ts"
import type { Position } from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { ConfigurationError, ConnectorError, RejectedError } from "../../Errors.ts"

const CONNECTOR = "stream"

/**
 * A factory of a resumable stream: records with the position after each, from a position.
 *
 * @category models
 * @since 0.1.0
 */
export type Resumable = (from: unknown) => Stream.Stream<readonly [unknown, unknown], unknown>

// The services a user's stream needs are the workflow caller's to provide (the DSL's types say
// so); at this untyped boundary a stream is one that the run's fiber can run.
const isStream = (u: unknown): u is Stream.Stream<unknown, unknown> => Stream.isStream(u)

const isCodec = (u: unknown): u is Schema.Codec<unknown, unknown> => Schema.isSchema(u)

/**
 * The `stream` source config: `stream` (an Effect Stream), or `from` (a factory of a resumable
 * stream) with `position` (the Schema of its positions).
 *
 * @category schemas
 * @since 0.1.0
 */
export const StreamSourceConfig = Schema.Union([
  Schema.Struct({
    stream: Schema.declare(isStream, { expected: "an Effect Stream" })
  }),
  Schema.Struct({
    from: Schema.declare((u: unknown): u is Resumable => typeof u === "function", {
      expected: "a function (from) => Stream of [record, position]"
    }),
    position: Schema.declare(isCodec, { expected: "the Schema of the stream's positions" })
  })
])

/**
 * @category models
 * @since 0.1.0
 */
export type StreamSourceConfig = typeof StreamSourceConfig.Type

/** How long a read waits for the stream's next record before reporting "nothing now". */
const IDLE_WAIT_MS = 50

const refuse = (operation: string, message: string, reason: "configuration" | "rejected" = "rejected") =>
  new ConnectorError({
    connector: CONNECTOR,
    operation,
    reason: reason === "configuration" ? new ConfigurationError({ message }) : new RejectedError({ message })
  })

/** What the reader needs to know of a form: how to start it, and how positions are written. */
interface Form {
  readonly start: (from: Position) => Effect.Effect<Stream.Stream<readonly [unknown, Position], unknown>, ConnectorError>
  /** The position before any record (a fresh start). */
  readonly initial: Position
  readonly seekable: boolean
}

const plainForm = (stream: Stream.Stream<unknown, unknown>, node: string): Form => ({
  initial: 0,
  seekable: false,
  start: (from) =>
    from === 0 || from === null
      ? Effect.succeed(Stream.mapAccum(stream, () => 0, (n, a) => [n + 1, [[a, n + 1] as const]]))
      : Effect.fail(
        refuse(
          "seek",
          `source '${node}' is a plain Effect Stream: it cannot be replayed from record ${
            JSON.stringify(from)
          } of a checkpoint. Give Streams.source a factory (from) => Stream with a position Schema to resume, or run from scratch (--from-scratch, RunOptions.fromScratch)`,
          "configuration"
        )
      )
})

const resumableForm = (from: Resumable, schema: Schema.Codec<unknown, unknown>, node: string): Form => {
  const json = Schema.toCodecJson(schema)
  const decode = Schema.decodeUnknownExit(json)
  const encode = Schema.encodeUnknownExit(json)
  return {
    initial: null,
    seekable: true,
    start: (saved) =>
      Effect.gen(function*() {
        let start: unknown
        if (saved !== null) {
          const at = typeof saved === "object" && !Array.isArray(saved) ? saved.at : undefined
          const decoded = at === undefined ? undefined : decode(at)
          if (decoded === undefined || Exit.isFailure(decoded)) {
            return yield* refuse(
              "seek",
              `source '${node}': ${JSON.stringify(saved)} is not a position of its stream${
                decoded !== undefined && Exit.isFailure(decoded) ? ` (${Cause.squash(decoded.cause)})` : ""
              }`
            )
          }
          start = decoded.value
        }
        return Stream.mapEffect(from(start), ([record, position]) => {
          const encoded = encode(position)
          return Exit.isSuccess(encoded)
            ? Effect.succeed([record, { at: encoded.value as Position }] as const)
            : Effect.fail(refuse("read", `source '${node}': the stream gave a position its Schema cannot encode: ${Cause.squash(encoded.cause)}`))
        })
      })
  }
}

/**
 * A reader over a form: the stream runs into a bounded queue in the task's scope; `readBatch`
 * takes what is there (waiting a little for the first record), and remembers the position of
 * the last record it handed on.
 */
const makeReader = (form: Form, context: Connector.OpenContext): Effect.Effect<Connector.SourceReader<unknown>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const capacity = Math.max(1, context.batchSize)
    let from: Position = form.initial
    let position: Position = form.initial
    let running: { readonly queue: Queue.Queue<readonly [unknown, Position], unknown>; readonly fiber: Fiber.Fiber<void> } | undefined
    let ended: Cause.Cause<unknown> | undefined
    const start = Effect.gen(function*() {
      const stream = yield* form.start(from)
      const queue = yield* Queue.bounded<readonly [unknown, Position], unknown>(capacity)
      const fiber = yield* Effect.forkIn(Stream.runIntoQueue(stream, queue), scope)
      running = { queue, fiber }
      ended = undefined
      return queue
    })
    const stop = Effect.suspend(() => {
      const current = running
      running = undefined
      ended = undefined
      return current === undefined ? Effect.void : Fiber.interrupt(current.fiber)
    })
    const drain = (queue: Queue.Queue<readonly [unknown, Position], unknown>, max: number, records: Array<unknown>) => {
      while (ended === undefined && records.length < max) {
        const next = Queue.takeUnsafe(queue)
        if (next === undefined) return
        if (Exit.isFailure(next)) ended = next.cause
        else {
          records.push(next.value[0])
          position = next.value[1]
        }
      }
    }
    const readBatch = (max: number) =>
      Effect.gen(function*() {
        const queue = running?.queue ?? (yield* start)
        const records: Array<unknown> = []
        drain(queue, max, records)
        if (records.length === 0 && ended === undefined) {
          // nothing buffered: wait for the stream's next record, a little
          yield* Effect.timeoutOption(Effect.exit(Queue.peek(queue)), IDLE_WAIT_MS)
          drain(queue, max, records)
        }
        if (records.length > 0) return Batch.make(records, { origin: { source: context.node, position } })
        if (ended === undefined) return Batch.empty<unknown>({ origin: { source: context.node, position } })
        if (Pull.isDoneCause(ended)) return undefined
        // the stream failed: its own error is the node's failure (the connector boundary only types
        // connector errors, so it travels as a defect; the runtime names the node)
        return yield* Effect.die(Cause.squash(ended))
      })
    return {
      readBatch,
      position: Effect.sync(() => position),
      seek: (saved: Position) =>
        Effect.gen(function*() {
          yield* stop
          from = saved
          position = saved
          // check the position now (a plain stream refuses any but the start)
          yield* start
        }),
      commit: () => Effect.void
    }
  })

/**
 * The `stream` source definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const StreamSource: Connector.SourceDefinition<StreamSourceConfig, unknown> = Connector.source({
  type: CONNECTOR,
  description: "Reads an Effect Stream (DSL only: Streams.source)",
  config: StreamSourceConfig,
  capabilities: (config) => ({ seekable: "from" in config, unbounded: true }),
  check: () => Effect.void,
  open: (config, context) =>
    context.parallelism > 1
      // every instance would run the whole stream: each record would be read `parallelism` times
      ? Effect.fail(refuse(
        "open",
        `source '${context.node}' reads one Effect Stream: it runs with parallelism 1 (got ${context.parallelism}); set { parallelism: 1 } on it`,
        "configuration"
      ))
      : makeReader(
      "from" in config ? resumableForm(config.from, config.position, context.node) : plainForm(config.stream, context.node),
      context
    )
})

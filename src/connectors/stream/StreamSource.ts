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
 * most two of its chunks: a bounded buffer, so a slow pipeline slows the stream. Whole chunks
 * move between the fibers, and a resumable stream's position is encoded once per batch. A stream failure fails
 * the node with the stream's own error as the `NodeError`'s cause.
 *
 * @since 0.1.0
 */
import { type Array as Arr, Cause, Effect, Exit, Fiber, Pull, Queue, Schema, type Scope, Stream } from "effect"
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
export const StreamSourceConfig = Schema.Struct({
  stream: Schema.optionalKey(Schema.declare(isStream, { expected: "an Effect Stream (made by Streams.source of dataflare/dsl)" })),
  from: Schema.optionalKey(Schema.declare((u: unknown): u is Resumable => typeof u === "function", {
    expected: "a function (from) => Stream of [record, position] (made by Streams.source of dataflare/dsl)"
  })),
  position: Schema.optionalKey(Schema.declare(isCodec, { expected: "the Schema of the stream's positions" }))
}).check(
  Schema.makeFilter((c) =>
    (c.stream !== undefined) !== (c.from !== undefined) && (c.from === undefined || c.position !== undefined)
      ? true
      : "a stream source is made by Streams.source of dataflare/dsl: `stream` (an Effect Stream), or `from` with `position`; YAML cannot write one"
  )
)

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
  /** The stream from a saved position (refused when it cannot start there). */
  readonly start: (from: Position) => Effect.Effect<Stream.Stream<unknown, unknown>, ConnectorError>
  /** The position before any record (a fresh start). */
  readonly initial: Position
  /** The record of a stream element (`undefined`: the element is the record). */
  readonly record: ((element: unknown) => unknown) | undefined
  /** The position after `taken` records read from `from`, the last being `last`. */
  readonly after: (from: Position, taken: number, last: unknown) => Exit.Exit<Position, ConnectorError>
}

const plainForm = (stream: Stream.Stream<unknown, unknown>, node: string): Form => ({
  initial: 0,
  record: undefined,
  after: (from, taken) => Exit.succeed((typeof from === "number" ? from : 0) + taken),
  start: (from) =>
    from === 0 || from === null
      ? Effect.succeed(stream)
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
    record: (element) => (element as readonly [unknown, unknown])[0],
    // encoded once per batch, for the last record of it
    after: (_, __, last) => {
      const encoded = encode((last as readonly [unknown, unknown])[1])
      return Exit.isSuccess(encoded)
        ? Exit.succeed({ at: encoded.value as Position })
        : Exit.fail(refuse("read", `source '${node}': the stream gave a position its Schema cannot encode: ${Cause.squash(encoded.cause)}`))
    },
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
        return from(start)
      })
  }
}

/** Chunks of the stream the reader may hold ahead of the pipeline. */
const CHUNKS_AHEAD = 2

/**
 * A reader over a form: the stream's chunks run into a queue of {@link CHUNKS_AHEAD} in the task's
 * scope; `readBatch` takes records from them (waiting a little for the first), and remembers the
 * position after the last record it handed on.
 */
const makeReader = (form: Form, context: Connector.OpenContext): Effect.Effect<Connector.SourceReader<unknown>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    type Chunk = Arr.NonEmptyReadonlyArray<unknown>
    let from: Position = form.initial
    let position: Position = form.initial
    let taken = 0
    let running: { readonly queue: Queue.Queue<Chunk, unknown>; readonly fiber: Fiber.Fiber<void> } | undefined
    let ended: Cause.Cause<unknown> | undefined
    let chunk: Chunk | undefined
    let index = 0
    const start = Effect.gen(function*() {
      const stream = yield* form.start(from)
      const queue = yield* Queue.bounded<Chunk, unknown>(CHUNKS_AHEAD)
      const fiber = yield* Effect.forkIn(Stream.runIntoQueue(Stream.chunks(stream), queue), scope)
      running = { queue, fiber }
      return queue
    })
    const stop = Effect.suspend(() => {
      const current = running
      running = undefined
      ended = undefined
      chunk = undefined
      index = 0
      taken = 0
      return current === undefined ? Effect.void : Fiber.interrupt(current.fiber)
    })
    /** Takes up to `max` records from the chunks at hand; the last element taken, if any. */
    const drain = (queue: Queue.Queue<Chunk, unknown>, max: number, records: Array<unknown>): { last: unknown } | undefined => {
      let last: { last: unknown } | undefined
      while (records.length < max) {
        if (chunk === undefined || index >= chunk.length) {
          if (ended !== undefined) break
          const next = Queue.takeUnsafe(queue)
          if (next === undefined) break
          if (Exit.isFailure(next)) {
            ended = next.cause
            break
          }
          chunk = next.value
          index = 0
        }
        const n = Math.min(max - records.length, chunk.length - index)
        const record = form.record
        if (record === undefined) for (let k = 0; k < n; k++) records.push(chunk[index + k])
        else for (let k = 0; k < n; k++) records.push(record(chunk[index + k]))
        last = { last: chunk[index + n - 1] }
        index += n
        taken += n
      }
      return last
    }
    const readBatch = (max: number) =>
      Effect.gen(function*() {
        const queue = running?.queue ?? (yield* start)
        const records: Array<unknown> = []
        let last = drain(queue, max, records)
        if (records.length === 0 && ended === undefined) {
          // nothing at hand: wait for the stream's next chunk, a little
          yield* Effect.timeoutOption(Effect.exit(Queue.peek(queue)), IDLE_WAIT_MS)
          last = drain(queue, max, records)
        }
        if (last !== undefined) position = yield* form.after(from, taken, last.last)
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
  // one Stream: every instance would read all of it (the workflow's default parallelism does not
  // apply; an explicit parallelism above 1 is refused when the workflow is prepared)
  capabilities: (config) => ({ seekable: config.from !== undefined, unbounded: true, maxParallelism: 1 }),
  check: () => Effect.void,
  open: (config, context) => {
    const form = config.from !== undefined && config.position !== undefined
      ? resumableForm(config.from, config.position, context.node)
      : config.stream !== undefined
      ? plainForm(config.stream, context.node)
      : undefined
    // (the config Schema refuses a config with neither)
    return form === undefined
      ? Effect.fail(refuse("open", `source '${context.node}' has no stream: make it with Streams.source`, "configuration"))
      : makeReader(form, context)
  }
})

/**
 * Connector interfaces: one small interface per role (source, sink), as in ARCHITECTURE §3.
 *
 * A connector *definition* declares its `type` (the YAML name, e.g. `csv`), the API version it was
 * written against, one config `Schema` (YAML, the DSL and error messages all come from it), its
 * capabilities, a connection test (`check`) and `open`, which acquires the connector's resources
 * in the task's `Scope` and returns a reader or writer. Batching, concurrency, retries,
 * acknowledgements and checkpoints belong to the runtime, not to the connector.
 *
 * - {@link SourceReader}: `readBatch(max)` returns the next batch, an empty batch when a streaming
 *   source has nothing right now, or `undefined` at the end of a bounded input. `position`,
 *   `seek` and `commit` let checkpoints record and restore where it was; streaming sources
 *   acknowledge upstream only in `commit`, after a checkpoint that covers the data completed.
 * - {@link SinkWriter}: `writeBatch(batch)` returns write statistics; `flush` makes everything
 *   written so far durable. Exactly-once sinks also implement `preCommit` / `commit` tied to
 *   checkpoint ids, and `restore` to discard what was written after the last completed checkpoint.
 *
 * @since 0.1.0
 */
import type { Context, Effect, Schema, Scope } from "effect"
import type { Batch, Encoded, Position } from "./Batch.ts"
import type { RestoreError } from "./Checkpoint.ts"
import type { ConnectorError, RecordError } from "./Errors.ts"

/**
 * The connector API version of this build of DataFlare. A definition declares the version it was
 * written against; the registry refuses one it cannot run.
 *
 * @category constants
 * @since 0.1.0
 */
export const API_VERSION = 1

/**
 * The API versions this build can run.
 *
 * @category constants
 * @since 0.1.0
 */
export const SUPPORTED_API_VERSIONS: ReadonlyArray<number> = [1]

/**
 * What the runtime tells a connector when it opens it.
 *
 * @category models
 * @since 0.1.0
 */
export interface OpenContext {
  /** The workflow's name (absent when a connector is opened outside a workflow, e.g. in a test). */
  readonly workflow?: string
  /** The workflow node id, for error messages and metrics. */
  readonly node: string
  /** Default batch size from `execution.batch_size`. */
  readonly batchSize: number
  /** Which instance of the node this is (0-based) when `parallelism > 1`. */
  readonly instance: number
  /** How many instances of the node run. */
  readonly parallelism: number
  /**
   * Sources: the stateless nodes right after the source that the planner fused into it (see
   * {@link SourceCapabilities.fuses}), in order. The source runs them on every batch, rebuilt
   * from their configs, returns only the records that come out of the last one, and reports the
   * counts through {@link SourceReader.fusedCounts}.
   */
  readonly fused?: ReadonlyArray<FusedNode>
  /**
   * Sources: the encoded form the source's only consumer, a sink, writes as it is (one of
   * {@link SourceCapabilities.encodes} that the sink {@link SinkCapabilities.accepts}). The source
   * may then emit `Batch.encoded` batches: records counted but not parsed, parsed only if
   * something reads them. It may still emit plain batches (records the format cannot carry
   * faithfully).
   */
  readonly encoding?: Encoded["format"]
  /**
   * Sinks: the run starts over — the user asked (`dataflare run --from-scratch`,
   * `RunOptions.fromScratch`), or no durable state backend is configured, so that every run starts
   * from scratch by design — so a `restore(undefined)` means "forget what earlier runs committed",
   * not "the state was lost". A sink that records its committed checkpoints in its destination refuses to restore a
   * checkpoint older than what it committed (the rows after it would be written twice) unless
   * this is set.
   */
  readonly fromScratch?: boolean
  /**
   * Sources and sinks that set records aside (a dead-letter file): call it with how many entries
   * were appended, each time some are, for the run's per-node dead-letter count (the
   * `dataflare_dead_letters_total` metric, docs/observability.md). Absent outside a run.
   */
  readonly onDeadLetters?: (count: number) => void
}

/**
 * A stateless node fused into a source: its id, `type` and config as written (plain data).
 *
 * @category models
 * @since 0.1.0
 */
export interface FusedNode {
  readonly node: string
  readonly type: string
  readonly config: unknown
}

/**
 * What a source can do.
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceCapabilities {
  /** `seek` restores a position: the source can replay after a restore. */
  readonly seekable: boolean
  /** The input never ends by itself (CDC, brokers). */
  readonly unbounded: boolean
  /** Batch size the source works best with; the runtime asks for this unless configured. */
  readonly preferredBatchSize?: number
  /** Largest batch the source will produce. */
  readonly maxBatchSize?: number
  /**
   * Built-in processor types (e.g. `filter`, `map`) this source can run itself, on its own worker
   * threads, when its node runs with `parallelism > 1`: the planner then fuses the chain of such
   * nodes that follows the source (configs given as data, no functions, no `key_by`/`ordered`)
   * into it and passes it as {@link OpenContext.fused}, so only surviving records reach the
   * main thread.
   */
  readonly fuses?: ReadonlyArray<string>
  /**
   * Encoded forms the source can emit its records in (see {@link Encoded}) when its only
   * consumer is a sink that accepts one of them, at parallelism 1: the planner then passes it as
   * {@link OpenContext.encoding}.
   */
  readonly encodes?: ReadonlyArray<Encoded["format"]>
  /**
   * The most instances of the node this source can run (e.g. 1 for a replication slot, a file
   * read whole). Absent: no limit. `execution.parallelism` applies up to it; a node whose own
   * `parallelism` is larger is refused when the workflow is prepared (`dataflare validate`). This
   * is the one place a connector limits its parallelism: `open` never sees an instance beyond it.
   */
  readonly maxParallelism?: number
  /**
   * What the source delivers after a restore, when it is not simply exactly-once (a seekable
   * source re-reads exactly what the checkpoint did not cover): a broker that redelivers, a
   * subscription that cannot replay. `dataflare plan` shows it on the source's line, and the
   * workflow's guarantee is the weakest of its sources and sinks.
   */
  readonly delivery?: SourceDelivery
  /** Why {@link maxParallelism} (shown in the refusal, e.g. "a query is read whole by one instance"). */
  readonly maxParallelismReason?: string
  /**
   * With `execution.parallelism: auto` (the default) and no `parallelism` of the node's own: how
   * many instances to run given the cores available (`os.availableParallelism()`), e.g. one per
   * core for a file large enough that each instance's share pays for its thread, else 1. Called
   * once, when the workflow is prepared; it must not fail (answer 1 when unsure). Absent: 1. A run
   * resuming from a checkpoint keeps the number of instances the checkpoint was taken with.
   */
  readonly autoParallelism?: (cores: number) => number
}

/**
 * A source's delivery after a restore ({@link SourceCapabilities.delivery}): the guarantee, and
 * how it is achieved or what it does not cover, in one line for `plan`.
 *
 * @category models
 * @since 0.4.0
 */
export interface SourceDelivery {
  readonly guarantee: DeliveryGuarantee
  readonly detail: string
}

/**
 * A delivery guarantee of a source or a whole workflow: a sink's {@link Guarantee}, or
 * `at-most-once` (what was read and not yet checkpointed can be lost, e.g. MQTT QoS 0).
 *
 * @category models
 * @since 0.4.0
 */
export type DeliveryGuarantee = Guarantee | "at-most-once"

/**
 * The delivery guarantee a sink gives after a restore from a checkpoint.
 *
 * @category models
 * @since 0.1.0
 */
export type Guarantee = "exactly-once" | "at-least-once"

/**
 * What a sink can do.
 *
 * @category models
 * @since 0.1.0
 */
export interface SinkCapabilities {
  readonly guarantee: Guarantee
  /**
   * What the guarantee depends on or how it is kept when not by the sink's own transactions,
   * shown beside it by `dataflare plan` (e.g. `within the stream's duplicate window` for a sink
   * whose server de-duplicates replays for a while, `idempotent writes keyed by id_field`).
   */
  readonly guaranteeNote?: string
  /** The sink writes a batch atomically. */
  readonly transactional: boolean
  readonly preferredBatchSize?: number
  readonly maxBatchSize?: number
  /**
   * The writer takes batches without waiting on I/O (it keeps them in memory, buffers them, or
   * discards them), ideally through `writeBatchSync`. The runtime may then chain the sink into its
   * producer (a source, with the stateless processors chained after it, of the same parallelism
   * and with no other consumer): each batch is written in the producer's fiber, with no queue hop
   * and no fiber switch. Leave it unset for a sink whose writes wait on a server or a disk: across
   * a queue, its writes overlap the source's reads.
   */
  readonly inline?: boolean
  /**
   * Encoded forms (see {@link Encoded}) the writer can write as they are. Such a writer
   * checks every batch with `Batch.encodedOf` and must give the same result as for the decoded
   * records (it may decode them, with `Batch.decodeRecords`, whenever it cannot use the bytes).
   */
  readonly accepts?: ReadonlyArray<Encoded["format"]>
  /**
   * The most instances of the node this sink can run (1 for a sink that writes one file, or that
   * truncates its target once). Absent: no limit. `execution.parallelism` applies up to it; a
   * node whose own `parallelism` is larger is refused when the workflow is prepared.
   */
  readonly maxParallelism?: number
  /** Why {@link maxParallelism} (shown in the refusal). */
  readonly maxParallelismReason?: string
}

/**
 * Something outside the workflow that a connector reads or writes, as declared by a definition's
 * `resources`. Before anything is opened, the runtime refuses a workflow in which two nodes write
 * one resource, or one node writes what another reads (a sink truncating its own input), unless
 * both declarations are `shared`.
 *
 * - `kind: "file"`: `name` is a path, resolved as the connector opens it (relative paths against
 *   the current directory) and through symbolic links, so `./a.csv`, `a.csv` and a link to it are
 *   one file (hard links too, once the file exists).
 * - Any other kind (`"redis-stream"`, `"postgres-table"`, ...): `name` is compared as given, so
 *   write it in one canonical form (and never with a secret in it: it appears in messages).
 *
 * @category models
 * @since 0.1.0
 */
export interface Resource {
  readonly kind: "file" | (string & {})
  readonly name: string
  /**
   * Where the name is written in the node's config (e.g. `["dead_letter", "path"]`), so the
   * refusal points at its file, line and column. Absent: the node itself.
   */
  readonly key?: ReadonlyArray<PropertyKey>
  /**
   * The declaration tolerates other shared declarations of the same resource: a write that only
   * adds its own records (rows inserted into a table, never a truncation), a read that writes
   * beside it cannot disturb (a table read from a snapshot). A write collides with every other
   * declaration of its resource unless both are shared: a file started afresh, a truncated
   * table, a change stream (which would read the workflow's own writes) are not shared.
   */
  readonly shared?: boolean
}

/**
 * What a connector reads and writes outside the workflow (see {@link Resource}). A dead-letter
 * file is written too.
 *
 * @category models
 * @since 0.1.0
 */
export interface Resources {
  readonly reads?: ReadonlyArray<Resource>
  readonly writes?: ReadonlyArray<Resource>
}

/**
 * A source opened in a task's scope.
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceReader<out A> {
  /**
   * The next batch of at most `max` records; an empty batch when a streaming source has nothing
   * now (the runtime calls again); `undefined` when a bounded input is exhausted.
   */
  readonly readBatch: (max: number) => Effect.Effect<Batch<A> | undefined, ConnectorError | RecordError>
  /** The position after the last record returned by `readBatch`. */
  readonly position: Effect.Effect<Position>
  /** Continue reading from a position previously returned by `position`. */
  readonly seek: (position: Position) => Effect.Effect<void, ConnectorError>
  /** Everything up to `position` is safely processed: acknowledge it upstream. */
  readonly commit: (position: Position) => Effect.Effect<void, ConnectorError>
  /**
   * How far the source is behind its input (e.g. a CDC slot's WAL bytes not yet confirmed), as
   * last measured; `undefined` when not known yet. Shown by `dataflare run` and in the run's
   * summary.
   */
  readonly lag?: () => SourceLag | undefined
  /**
   * What the reader holds in memory ahead of the pipeline (records its client delivered and
   * `readBatch` has not returned yet) against the bound it was configured with — the measure the
   * backpressure case of the source conformance suite checks. A reader that fetches only inside
   * `readBatch`, at most `max` records, holds nothing between calls and need not report it.
   */
  readonly readAhead?: () => ReadAhead
  /**
   * With {@link OpenContext.fused}: records that entered each fused node so far, then the records
   * that came out of the last one (totals of this reader), for the per-node counts of a run.
   */
  readonly fusedCounts?: () => ReadonlyArray<number>
  /**
   * Optional synchronous fast path of `readBatch`, for readers that often have a batch at hand
   * (in memory, or buffered ahead): the next batch, `undefined` when a bounded input is exhausted,
   * or {@link Pending} when it cannot answer without waiting — the runtime then calls
   * `readBatch`. It may throw only what `readBatch` may fail with. While it answers, the runtime
   * runs no Effect per batch (it still yields to other fibers regularly).
   */
  readonly readBatchSync?: (max: number) => Batch<A> | undefined | typeof Pending
}

/**
 * How far a source is behind its input ({@link SourceReader.lag}).
 *
 * @category models
 * @since 0.3.0
 */
export interface SourceLag {
  readonly value: number
  readonly unit: "bytes" | "records" | "ms"
}

/**
 * A reader's read-ahead ({@link SourceReader.readAhead}): records held now, the most held at once
 * since the reader opened (or last seeked), and the bound that must never be exceeded (the
 * reader's buffer capacity plus what its client may still deliver after it is paused).
 *
 * @category models
 * @since 0.5.0
 */
export interface ReadAhead {
  readonly held: number
  readonly peak: number
  readonly bound: number
}

/**
 * What a synchronous fast path ({@link SourceReader.readBatchSync},
 * {@link SinkWriter.writeBatchSync}) returns when it cannot complete without waiting: the
 * runtime then uses the Effect version for the same call.
 *
 * @category models
 * @since 0.1.0
 */
export const Pending: unique symbol = Symbol.for("dataflare/Connector/Pending")

/**
 * Statistics of one `writeBatch`.
 *
 * @category models
 * @since 0.1.0
 */
export interface WriteStats {
  readonly written: number
  readonly bytes?: number
}

/**
 * A sink opened in a task's scope.
 *
 * @category models
 * @since 0.1.0
 */
export interface SinkWriter<A> {
  writeBatch(batch: Batch<A>): Effect.Effect<WriteStats, ConnectorError | RecordError>
  /**
   * Optional synchronous fast path of `writeBatch`, for writers that can take a batch without
   * waiting (they buffer it, or discard it): the statistics of the write, or {@link Pending} when
   * it would have to wait — it must then have written nothing, and the runtime calls `writeBatch`
   * with the same batch. It may throw only what `writeBatch` may fail with.
   */
  writeBatchSync?(batch: Batch<A>): WriteStats | typeof Pending
  /** Make everything written so far durable (called at end of input and before a checkpoint completes). */
  readonly flush: Effect.Effect<void, ConnectorError>
  /**
   * Exactly-once sinks: make everything written so far durable *as part of checkpoint `id`*, but
   * not yet visible (e.g. flush an in-progress file and remember its length, or stage rows in an
   * open transaction). Called when barrier `id` reaches the sink, before the checkpoint record is
   * written.
   */
  readonly preCommit?: (checkpointId: number) => Effect.Effect<void, ConnectorError>
  /** Exactly-once sinks: checkpoint `id` is complete; publish what was pre-committed up to it. */
  readonly commit?: (checkpointId: number) => Effect.Effect<void, ConnectorError>
  /**
   * Exactly-once sinks: called once after `open`, before any write. Checkpoint `id` is the last
   * completed one (`undefined`: none): keep (and publish, if `commit` did not run before a crash)
   * what was pre-committed up to `id`, and discard everything written after it.
   */
  readonly restore?: (checkpointId: number | undefined) => Effect.Effect<void, ConnectorError>
}

/**
 * What a source's `checkRestore` is told in a run's pre-flight phase: the position one instance
 * would seek to, and what `identify` recorded about the input at that position.
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceRestoreContext {
  readonly workflow: string
  readonly node: string
  readonly instance: number
  readonly parallelism: number
  /** The checkpoint the run would resume from. */
  readonly checkpoint: number
  /** Whether that checkpoint is the final one of a run that completed. */
  readonly final: boolean
  /** The position the instance would seek to. */
  readonly position: Position
  /** What `identify` returned for that position (`undefined` when the source has no `identify`). */
  readonly input: unknown
}

/**
 * What a sink's `checkRestore` is told in a run's pre-flight phase.
 *
 * @category models
 * @since 0.1.0
 */
export interface SinkRestoreContext {
  readonly workflow: string
  readonly node: string
  readonly instance: number
  readonly parallelism: number
  /** The checkpoint the run would resume from (`undefined`: none, the run starts from scratch). */
  readonly checkpoint: number | undefined
  /**
   * The user asked to start over (`--from-scratch`): with `checkpoint` undefined, what the sink
   * committed in earlier runs is to be forgotten, not refused (see {@link OpenContext.fromScratch}).
   */
  readonly fromScratch?: boolean
}

/**
 * A source connector definition. `Config` is the decoded config; `A` the record type; `R` the
 * services of the application its `open` and `check` need (default none): a client the app
 * already has, a credentials provider. The run provides them from the context of whoever runs the
 * workflow, after checking — before any connector opens — that each key listed in `services` is
 * there; a typed spec (`Spec.source<A, never, R>(type, config)`) makes `Pipeline.run` require them.
 *
 * @example
 * ```ts
 * const Numbers = Connector.source({
 *   type: "numbers",
 *   description: "Counts from 1 to `to`",
 *   config: Schema.Struct({ to: Schema.Number }),
 *   capabilities: () => ({ seekable: true, unbounded: false }),
 *   check: () => Effect.void,
 *   open: (config) => Effect.sync(() => makeCounterReader(config.to))
 * })
 * ```
 * @category models
 * @since 0.1.0
 */
export interface SourceDefinition<Config, A, R = never> {
  readonly _tag: "SourceDefinition"
  readonly type: string
  readonly apiVersion: number
  readonly description: string
  readonly config: Schema.Decoder<Config>
  /** The keys of the services `R` (checked to be provided before any connector of a run opens). */
  readonly services?: ReadonlyArray<Context.Key<R, unknown>> | undefined
  // Methods (not function properties) so that a definition of any config type is a
  // `SourceDefinition<unknown, unknown, unknown>` for the registry.
  capabilities(config: Config): SourceCapabilities
  /** The files and other resources the source reads (and writes, if any): see {@link Resources}. */
  resources?(config: Config): Resources
  check(config: Config): Effect.Effect<void, ConnectorError, R>
  open(config: Config, context: OpenContext): Effect.Effect<SourceReader<A>, ConnectorError, Scope.Scope | R>
  /**
   * Optional: the Schema of this source's positions (what `reader.position` gives, as a checkpoint
   * stores it). The runtime decodes every stored position with it before any connector opens — a
   * position that does not decode refuses the resume with a `RestoreError` naming the node, the
   * instance and the checkpoint — and `seek` is given the decoded value. Build it from the kit's
   * pieces (`Positions.Offset`, `Positions.FileOffset`) and decode in `seek` with the same Schema
   * (`Positions.decoder`), for a reader used outside a run.
   */
  position?(config: Config): Schema.Decoder<unknown>
  /**
   * Optional: what a checkpoint keeps about the input beside a position (plain JSON), so that
   * `checkRestore` can tell later whether the position still applies — e.g. a file's size and a
   * hash of the bytes before the position. Called when a position is recorded (each checkpoint
   * barrier and the end of input), with the position `reader.position` gave.
   */
  identify?(config: Config, position: Position): Effect.Effect<unknown, ConnectorError>
  /**
   * Optional pre-flight check, called before any connector of the run is opened, for every
   * instance that would seek to a restored position: fail with a {@link RestoreError} (what
   * changed, the way out) when the position no longer applies to the input (a file replaced or
   * truncated, a table recreated). A refusal stops the run before any output is touched.
   */
  checkRestore?(config: Config, context: SourceRestoreContext): Effect.Effect<void, RestoreError | ConnectorError>
  /**
   * Optional: the field names of the records, when the config says exactly what they are (a CSV
   * without a header row, with `columns`; records given in the config); `undefined` when it does
   * not. `Runtime.prepare` then refuses an expression step downstream that reads another field (a
   * misspelt field reads as null on every record: a filter would drop them all).
   */
  fields?(config: Config): ReadonlyArray<string> | undefined
}

/**
 * A sink connector definition. `Config` is the decoded config; `A` the record type it accepts;
 * `R` the services of the application its `open` and `check` need, listed by key in `services`
 * (see {@link SourceDefinition}).
 *
 * @category models
 * @since 0.1.0
 */
export interface SinkDefinition<Config, A, R = never> {
  readonly _tag: "SinkDefinition"
  readonly type: string
  readonly apiVersion: number
  readonly description: string
  readonly config: Schema.Decoder<Config>
  /** The keys of the services `R` (checked to be provided before any connector of a run opens). */
  readonly services?: ReadonlyArray<Context.Key<R, unknown>> | undefined
  // Methods (not function properties) so that a definition of any config type is a
  // `SinkDefinition<unknown, unknown, unknown>` for the registry.
  capabilities(config: Config): SinkCapabilities
  /** The files and other resources the sink writes (dead letters included): see {@link Resources}. */
  resources?(config: Config): Resources
  check(config: Config): Effect.Effect<void, ConnectorError, R>
  open(config: Config, context: OpenContext): Effect.Effect<SinkWriter<A>, ConnectorError, Scope.Scope | R>
  /**
   * Optional pre-flight check, called before any connector of the run is opened (so before
   * `open` and `restore`), for every instance: fail with a {@link RestoreError} when the sink's
   * own record says it is ahead of the checkpoint the run would restore (it committed a later
   * one: restoring an older checkpoint would write those rows twice), naming both ids and the
   * way out. A sink that can only tell once opened checks the same thing in `restore`.
   */
  checkRestore?(config: Config, context: SinkRestoreContext): Effect.Effect<void, RestoreError | ConnectorError>
}

/**
 * Defines a source connector (fills in `_tag` and the current API version unless given).
 *
 * @category constructors
 * @since 0.1.0
 */
export const source = <Config, A, R = never>(
  definition: Omit<SourceDefinition<Config, A, R>, "_tag" | "apiVersion"> & { readonly apiVersion?: number }
): SourceDefinition<Config, A, R> => ({ apiVersion: API_VERSION, ...definition, _tag: "SourceDefinition" })

/**
 * Defines a sink connector (fills in `_tag` and the current API version unless given).
 *
 * @category constructors
 * @since 0.1.0
 */
export const sink = <Config, A, R = never>(
  definition: Omit<SinkDefinition<Config, A, R>, "_tag" | "apiVersion"> & { readonly apiVersion?: number }
): SinkDefinition<Config, A, R> => ({ apiVersion: API_VERSION, ...definition, _tag: "SinkDefinition" })

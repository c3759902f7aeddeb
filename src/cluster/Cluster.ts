/**
 * Scale-out on effect/cluster: one workflow spread over several runner processes (and machines),
 * its parts moving to the runners left when one dies.
 *
 * The unit of distribution is a part: a byte range of the workflow's `csv` source, a key range
 * of its `postgres` or `mysql` table source, or a consumer of its `redis-streams` or `rabbitmq`
 * source (such parts never end: they follow the source until the workflow is stopped), with the
 * stateless chain after it and its own sink instances (a file per part, or its own instance of a
 * shared `postgres` sink), run by the ordinary runtime. A workflow with a keyed `aggregate` or
 * `dedupe` over the whole input runs in two stages exchanging records, by key group, through a
 * durable PostgreSQL table (see {@link keyedOperator}). Each part is a cluster entity whose one request is persisted in PostgreSQL
 * until the part ends; parts checkpoint into the PostgreSQL state backend, so a part that moves
 * resumes from its last checkpoint and the exactly-once sinks keep their guarantee. A workflow's
 * parts checkpoint together when the checkpoint coordinator — a cluster singleton, on one runner
 * at a time, its state in PostgreSQL — triggers the workflow's next global checkpoint. Credentials
 * travel as `${env:NAME}` references, resolved on the runners.
 *
 * - {@link runner}: the Layer of a runner process (`dataflare runner`).
 * - {@link submit} / {@link submitAll}: check workflows, record their parts and send them, spread
 *   evenly over the runners (`dataflare submit`); a stopped workflow submitted again resumes.
 * - {@link follow} / {@link followAll} / {@link status}: read where the parts are (`dataflare status`).
 * - {@link stop}: stops a workflow at a checkpoint (`dataflare stop`).
 *
 * Local runs (`Runtime.run`, `dataflare run`) use none of this. See docs/cluster.md for what is
 * not distributed yet.
 *
 * @since 0.5.0
 */
import { Cause, Effect, Layer, Redacted, Semaphore } from "effect"
import * as Entity from "effect/cluster/Entity"
import { Registry } from "../Registry.ts"
import { durationMillis, type WorkflowGraph } from "../WorkflowGraph.ts"
import * as Balance from "./internal/balance.ts"
import * as Coordinator from "./internal/coordinator.ts"
import { Part, partId } from "./internal/entity.ts"
import { keyedNode, keyedNodes, keyedParts } from "./internal/exchange.ts"
import { ClusterError } from "./internal/errors.ts"
import { runPart } from "./internal/part.ts"
import * as Secrets from "./internal/secrets.ts"
import * as Sharding from "./internal/sharding.ts"
import { check, DEFAULT_CHECKPOINT_INTERVAL, unboundedSource as unboundedSourceOf } from "./internal/split.ts"
import * as Table from "./internal/table.ts"

export {
  /**
   * A cluster operation failed (`operation`, `workflow`, `message`).
   *
   * @category errors
   * @since 0.5.0
   */
  ClusterError,
  /**
   * A part failed on its runner (`workflow`, `part`, `message`).
   *
   * @category errors
   * @since 0.5.0
   */
  PartFailed
} from "./internal/errors.ts"

export type {
  /**
   * Where the checkpoint coordinator runs (its runner, when it started there, its last tick).
   *
   * @category models
   * @since 0.5.0
   */
  CoordinatorRow,
  /**
   * One part of a submitted workflow as `<prefix>_parts` records it.
   *
   * @category models
   * @since 0.5.0
   */
  PartRow,
  /**
   * A runner as effect/cluster registers it.
   *
   * @category models
   * @since 0.5.0
   */
  RunnerRow,
  /**
   * A workflow's global checkpoints as `<prefix>_workflows` records them: the last triggered
   * (`epoch`) and the last every running part acknowledged (`completed`).
   *
   * @category models
   * @since 0.5.0
   */
  WorkflowRow
} from "./internal/table.ts"

/**
 * An environment where every set variable's value is its own `${env:NAME}` reference: loading a
 * YAML workflow with it (`Yaml.load(file, { env: deferringEnv(process.env) })`) gives the
 * workflow with references where the ordinary load has the values (see {@link deferReferences}).
 *
 * @category secrets
 * @since 0.5.0
 */
export const deferringEnv: (env: Secrets.Env) => Secrets.Env = Secrets.deferringEnv

/**
 * The workflow to submit from two loads of one YAML file: `resolved` (the ordinary load) with the
 * node config strings of `deferred` (loaded with {@link deferringEnv}) where those hold an
 * `${env:NAME}` reference, but file `path`s and values typed other than as strings resolved.
 * The runners resolve the references; the credentials never reach the cluster's tables.
 *
 * @category secrets
 * @since 0.5.0
 */
export const deferReferences: (resolved: WorkflowGraph, deferred: WorkflowGraph) => WorkflowGraph = Secrets.deferReferences

/**
 * The node of a workflow's source when the cluster runs its parts as consumers of a broker
 * (`redis-streams`, `rabbitmq`): such a source never ends, so its parts run — and `follow`
 * follows them — until the workflow is stopped ({@link stop}). `undefined` for a source whose
 * parts end (a file's byte ranges, a table's key ranges).
 *
 * @category submitting
 * @since 0.5.0
 */
export const unboundedSource: (graph: WorkflowGraph) => WorkflowGraph["nodes"][number] | undefined = unboundedSourceOf

/**
 * The first keyed operator of a workflow the cluster runs in stages over its keyed exchange
 * (`aggregate` or `dedupe`: see docs/cluster.md); `undefined` for a workflow without one. Such a
 * workflow submitted in `n` parts runs `2n`: parts `0 … n-1` read the source's ranges and write
 * the exchange, parts `n … 2n-1` each run the operator on a range of key groups (with more keyed
 * operators, see {@link keyedOperators}).
 *
 * @category submitting
 * @since 0.5.0
 */
export const keyedOperator: (graph: WorkflowGraph) => WorkflowGraph["nodes"][number] | undefined = keyedNode

/**
 * The keyed operators of a workflow, in the order the records reach them. With `k` of them, a
 * workflow submitted in `n` parts runs `(k + 1) · n`: stage 1 reads the source's ranges, stage
 * `s` runs keyed operator `s-1` on a range of key groups and the chain after it (into the next
 * keyed operator's exchange, or into the sinks).
 *
 * @category submitting
 * @since 0.6.0
 */
export const keyedOperators: (graph: WorkflowGraph) => ReadonlyArray<WorkflowGraph["nodes"][number]> = keyedNodes

/**
 * Where the cluster keeps its state: a PostgreSQL database, and a prefix for its tables
 * (`<prefix>_runners`, `<prefix>_messages`, ... of effect/cluster, `<prefix>_parts`, and the
 * parts' checkpoints in `<prefix>_state_checkpoints`).
 *
 * @category models
 * @since 0.5.0
 */
export interface ClusterOptions {
  readonly url: Redacted.Redacted<string> | string
  /** Default {@link DEFAULT_PREFIX}. */
  readonly prefix?: string | undefined
}

/**
 * The default table prefix.
 *
 * @category constants
 * @since 0.5.0
 */
export const DEFAULT_PREFIX = "dataflare_cluster"

const urlOf = (options: ClusterOptions) => (typeof options.url === "string" ? Redacted.make(options.url) : options.url)
const prefixOf = (options: ClusterOptions) => options.prefix ?? DEFAULT_PREFIX

/**
 * How many parts a runner runs at once by default (each holds PostgreSQL connections: its state
 * backend's, its connectors'); the others wait on the runner, in order, for a part to end.
 *
 * @category constants
 * @since 0.5.0
 */
export const DEFAULT_MAX_PARTS = 4

/**
 * A runner: joins the cluster (listening on `listen` for the other runners), takes its share of
 * the shards and runs the parts they hold, `maxParts` at a time (default
 * {@link DEFAULT_MAX_PARTS}), with the connectors and processors of the `Registry` it is given.
 * Every runner can run the checkpoint coordinator: the one holding its singleton's shard does.
 * Runs until its scope closes; a runner stopped gracefully hands its shards over.
 *
 * @category layers
 * @since 0.5.0
 */
export const runner = (
  options: ClusterOptions & { readonly listen: Sharding.Listen; readonly maxParts?: number | undefined }
): Layer.Layer<never, ClusterError, Registry> => {
  const url = urlOf(options)
  const prefix = prefixOf(options)
  const handlers = Layer.unwrap(Effect.gen(function*() {
    const maxParts = options.maxParts ?? DEFAULT_MAX_PARTS
    if (!Number.isInteger(maxParts) || maxParts < 1) {
      return yield* new ClusterError({ operation: "runner", message: `maxParts must be a positive integer, got ${maxParts}` })
    }
    const permits = yield* Semaphore.make(maxParts)
    const table = yield* Table.open(Redacted.value(url), prefix)
    // the shards this runner holds, for submit to spread a batch's parts evenly (withdrawn at the end)
    const self = `${options.listen.host}:${options.listen.port}`
    yield* Effect.forkScoped(Balance.publishShards(table, self))
    yield* Effect.addFinalizer(() => Effect.ignore(table.publishShards(self, [])))
    // the checkpoint coordinator: a singleton, on one runner of the cluster at a time (coordinator.ts)
    const coordinator = Coordinator.layer(Table.open(Redacted.value(url), prefix), self)
    return Layer.merge(coordinator, Part.toLayer(
      Effect.gen(function*() {
        const address = yield* Entity.CurrentRunnerAddress
        const registry = yield* Registry
        const deps = { url, prefix, table, runner: `${address.host}:${address.port}`, withPermit: permits.withPermit }
        return Part.of({
          Run: (envelope) => Effect.provideService(runPart(envelope.payload, deps), Registry, registry)
        })
      }),
      // a part is one long request: never reaped while it runs
      { maxIdleTime: "1 minute" }
    ))
  }))
  return handlers.pipe(
    Layer.provide(Sharding.layer(url, prefix, options.listen)),
    // what a user can cause (the database unreachable, the port taken) is the runner's error
    Layer.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Layer.effectDiscard(Effect.failCause(cause as Cause.Cause<never>))
      const error = Cause.squash(cause)
      return Layer.effectDiscard(Effect.fail(
        error instanceof ClusterError
          ? error
          : new ClusterError({ operation: "runner", message: `the runner could not join the cluster: ${error instanceof Error ? error.message : String(error)}` })
      ))
    })
  )
}

/**
 * Submits a workflow: refuses what the cluster cannot distribute yet (see docs/cluster.md), then
 * records its `parts` parts and sends them to the cluster (their requests are stored, so runners
 * that start later still get them). Relative file paths resolve against `cwd`. Returns at once;
 * use {@link follow} to wait for the end.
 *
 * A workflow submitted before resumes when all its parts have ended and some did not finish
 * (stopped by {@link stop}, or failed): those parts start again from their last checkpoints (the
 * same number of parts is required). One still running, or done, is refused.
 *
 * Credentials stay out of the cluster's tables: write them in the node configs as environment
 * references, `${env:NAME}` (or `${env:NAME:-default}`), which every runner resolves against its
 * own environment when it starts a part (`env`, default `process.env`, resolves them here only to
 * check the workflow). A workflow holding a credential in clear (a URL with a password, a
 * `password` / `secret` / `token` field with a literal value) is refused.
 *
 * @category submitting
 * @since 0.5.0
 */
export const submit = (
  graph: WorkflowGraph,
  options: ClusterOptions & { readonly parts: number; readonly cwd: string; readonly env?: Secrets.Env | undefined }
): Effect.Effect<void, ClusterError, Registry> => submitAll([graph], options)

/**
 * Submits several workflows at once, each in `parts` parts: {@link submit} for many small
 * workflows, with one connection to the cluster, one query recording all their parts, and the
 * parts sent `concurrency` at a time (default 16). Every workflow is checked before anything is
 * recorded: one refused, none is submitted.
 *
 * @category submitting
 * @since 0.5.0
 */
export const submitAll = (
  graphs: ReadonlyArray<WorkflowGraph>,
  options: ClusterOptions & {
    readonly parts: number
    readonly cwd: string
    readonly env?: Secrets.Env | undefined
    readonly concurrency?: number | undefined
  }
): Effect.Effect<void, ClusterError, Registry> =>
  Effect.scoped(Effect.gen(function*() {
    if (!Number.isInteger(options.parts) || options.parts < 1) {
      return yield* new ClusterError({ operation: "submit", message: `parts must be a positive integer, got ${options.parts}` })
    }
    const names = new Set<string>()
    const checked: Array<WorkflowGraph> = []
    for (const graph of graphs) {
      if (names.has(graph.name)) return yield* new ClusterError({ operation: "submit", workflow: graph.name, message: `the workflow name '${graph.name}' is submitted twice` })
      names.add(graph.name)
      checked.push(yield* checkSecrets(graph, options.cwd, options.env ?? process.env))
    }
    const json = new Map(checked.map((g) => [g.name, JSON.stringify(g)]))
    const table = yield* Table.open(Redacted.value(urlOf(options)), prefixOf(options))
    // a keyed workflow runs n parts of each stage, one stage more than it has keyed operators (see exchange.ts)
    const send = yield* table.insertParts(
      checked.map((g) => {
        const keyed = keyedNodes(g).length
        return {
          workflow: g.name,
          parts: keyed === 0 ? options.parts : keyedParts(options.parts, keyed),
          // the cadence of the workflow's global checkpoints (coordinator.ts)
          intervalMs: durationMillis(g.execution.checkpoint_interval ?? DEFAULT_CHECKPOINT_INTERVAL)
        }
      })
    )
    const owners = yield* table.shardOwners
    yield* Effect.gen(function*() {
      const client = yield* Part.client
      // each part on the runner with the fewest of this batch's parts (see balance.ts)
      const ids = Balance.place(send.map((s) => partId(s.workflow, s.part)), owners, yield* Balance.shardOf)
      yield* Effect.forEach(
        send,
        (s, i) => client(ids[i]!).Run({ ...s, graph: json.get(s.workflow)! }, { discard: true }),
        { concurrency: options.concurrency ?? 16, discard: true }
      )
    }).pipe(
      Effect.provide(Sharding.layer(urlOf(options), prefixOf(options), undefined)),
      Effect.mapError((e) => new ClusterError({ operation: "submit", message: `sending the parts: ${String(e)}` }))
    )
  }))

/**
 * Refuses credentials in clear, checks the workflow with its references resolved, and returns it
 * as it is stored: checked (absolute paths), its references kept.
 */
const checkSecrets = (graph: WorkflowGraph, cwd: string, env: Secrets.Env) =>
  Effect.gen(function*() {
    const literal = Secrets.literalCredentials(graph)
    if (literal.length > 0) {
      const where = literal.map((l) => `node '${l.node}' config.${l.field}`).join(", ")
      return yield* new ClusterError({
        operation: "submit",
        workflow: graph.name,
        message: `${where} holds a credential in clear, which the cluster would store in its message table: write it as \${NAME} in the YAML file (\${env:NAME} in a library graph) and set NAME where submit and the runners run`
      })
    }
    const resolved = Secrets.resolve(graph, env)
    if (!resolved.ok) {
      return yield* new ClusterError({ operation: "submit", workflow: graph.name, message: Secrets.describeUnresolved(resolved.unresolved) })
    }
    return Secrets.deferReferences(yield* check(resolved.graph, cwd), graph)
  })

/**
 * Stops a workflow gracefully: each running part takes a checkpoint where it is and ends
 * (`stopped`), parts not started yet do not start. Returns how many parts were asked to stop;
 * fails for a workflow with no part left running.
 *
 * @category submitting
 * @since 0.5.0
 */
export const stop = (workflow: string, options: ClusterOptions): Effect.Effect<number, ClusterError> =>
  Effect.scoped(Effect.gen(function*() {
    const table = yield* Table.open(Redacted.value(urlOf(options)), prefixOf(options))
    const asked = yield* table.requestStop(workflow)
    if (asked === 0) {
      return yield* new ClusterError({ operation: "stop", workflow, message: `no part of '${workflow}' is submitted or running on this cluster (see \`dataflare status\`)` })
    }
    return asked
  }))

/**
 * What {@link status} returns: the runners, where the checkpoint coordinator runs (`undefined`
 * before it first ran), the workflows' global checkpoints and their parts.
 *
 * @category status
 * @since 0.5.0
 */
export interface Status {
  readonly runners: ReadonlyArray<Table.RunnerRow>
  readonly coordinator: Table.CoordinatorRow | undefined
  readonly workflows: ReadonlyArray<Table.WorkflowRow>
  readonly parts: ReadonlyArray<Table.PartRow>
}

/**
 * The cluster's runners, its checkpoint coordinator, and its workflows and parts (of one
 * workflow, or of all).
 *
 * @category status
 * @since 0.5.0
 */
export const status = (options: ClusterOptions & { readonly workflow?: string | undefined }): Effect.Effect<Status, ClusterError> =>
  Effect.scoped(Effect.gen(function*() {
    const table = yield* Table.open(Redacted.value(urlOf(options)), prefixOf(options))
    return {
      runners: yield* table.runners,
      coordinator: yield* table.coordinator,
      workflows: yield* table.workflows(options.workflow),
      parts: yield* table.parts(options.workflow)
    }
  }))

/**
 * Follows a workflow until every part has ended, calling `onUpdate` with its parts every
 * `intervalMs` (default 1000); returns them. Interrupting it detaches: the workflow goes on.
 *
 * @category status
 * @since 0.5.0
 */
export const follow = (
  workflow: string,
  options: ClusterOptions & {
    readonly intervalMs?: number | undefined
    readonly onUpdate?: ((parts: ReadonlyArray<Table.PartRow>) => Effect.Effect<void>) | undefined
  }
): Effect.Effect<ReadonlyArray<Table.PartRow>, ClusterError> =>
  Effect.scoped(Effect.gen(function*() {
    const table = yield* Table.open(Redacted.value(urlOf(options)), prefixOf(options))
    while (true) {
      const parts = yield* table.parts(workflow)
      if (options.onUpdate !== undefined) yield* options.onUpdate(parts)
      if (parts.length === 0 || parts.every((p) => Table.isEnded(p.status))) return parts
      yield* Effect.sleep(options.intervalMs ?? 1000)
    }
  }))

/**
 * Follows several workflows (submitted with {@link submitAll}) until every part of each has
 * ended, calling `onUpdate` with their parts every `intervalMs` (default 1000); returns them.
 * Interrupting it detaches: the workflows go on.
 *
 * @category status
 * @since 0.5.0
 */
export const followAll = (
  workflows: ReadonlyArray<string>,
  options: ClusterOptions & {
    readonly intervalMs?: number | undefined
    readonly onUpdate?: ((parts: ReadonlyArray<Table.PartRow>) => Effect.Effect<void>) | undefined
  }
): Effect.Effect<ReadonlyArray<Table.PartRow>, ClusterError> =>
  Effect.scoped(Effect.gen(function*() {
    const table = yield* Table.open(Redacted.value(urlOf(options)), prefixOf(options))
    const names = new Set(workflows)
    while (true) {
      const parts = (yield* table.parts()).filter((p) => names.has(p.workflow))
      if (options.onUpdate !== undefined) yield* options.onUpdate(parts)
      if (parts.every((p) => Table.isEnded(p.status))) return parts
      yield* Effect.sleep(options.intervalMs ?? 1000)
    }
  }))

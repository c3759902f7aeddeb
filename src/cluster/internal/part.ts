/**
 * What a runner does with a part: runs it with the runtime — the part's graph (see split.ts), its
 * source opened on its byte range, checkpoints in the cluster's PostgreSQL state backend under
 * `<workflow>/<part>` — and records in `<prefix>_parts` where it runs, how far it got and how it
 * ended. A part that starts again on another runner (its runner died) restores its last
 * checkpoint there: the source seeks to the checkpoint's offset and the file sink truncates its
 * file back to the length it had then, so nothing is lost or written twice.
 *
 * A part has no checkpoint timer of its own: it takes a checkpoint when the coordinator
 * (coordinator.ts) triggers its workflow's next global checkpoint, and acknowledges it in
 * `<prefix>_parts.acked_epoch`; its final checkpoint (its end, a stop) stays its own.
 */
import { Cause, Effect, Layer, Redacted } from "effect"
import * as PostgresBackend from "../../backends/PostgresBackend.ts"
import { Registry } from "../../Registry.ts"
import * as Runtime from "../../Runtime.ts"
import type { WorkflowGraph } from "../../WorkflowGraph.ts"
import { PartFailed } from "./errors.ts"
import * as Exchange from "./exchange.ts"
import * as Secrets from "./secrets.ts"
import { partGraph, withPartRegistry } from "./split.ts"
import type { Table } from "./table.ts"

/** The request of a part (the payload of the entity's `Run`). */
export interface PartRequest {
  readonly workflow: string
  readonly part: number
  readonly parts: number
  readonly submission: number
  readonly graph: string
}

/** How often a running part looks for a stop request and for its workflow's next global checkpoint. */
const STOP_POLL_MS = 500

const counts = (nodes: ReadonlyArray<Runtime.NodeSummary>) => ({
  recordsIn: nodes.filter((n) => n.kind === "source").reduce((s, n) => s + n.recordsOut, 0),
  recordsOut: nodes.filter((n) => n.kind === "sink").reduce((s, n) => s + n.recordsIn, 0)
})

/** Runs one part on this runner to its end. */
export const runPart = (
  request: PartRequest,
  deps: {
    readonly url: Redacted.Redacted<string>
    readonly prefix: string
    readonly table: Table
    readonly runner: string
    /** Runs a part within the runner's `--max-parts` (stage-2 parts of a keyed workflow run outside it). */
    readonly withPermit: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  }
): Effect.Effect<{ readonly recordsIn: number; readonly recordsOut: number }, PartFailed, Registry> => {
  const { workflow, part, parts } = request
  const failed = (message: string) => new PartFailed({ workflow, part, message })
  const run = Effect.gen(function*() {
    // the credentials' references resolve here, against this runner's environment
    const resolved = Secrets.resolve(JSON.parse(request.graph) as WorkflowGraph, process.env)
    if (!resolved.ok) return yield* failed(`on runner ${deps.runner}: ${Secrets.describeUnresolved(resolved.unresolved)}`)
    const keyed = Exchange.keyedNodes(resolved.graph)
    const stage = keyed.length === 0 ? undefined : Exchange.stageOf(part, parts, keyed.length)
    const registry = yield* Registry
    let graph: WorkflowGraph
    let partRegistry: Registry["Service"]
    if (stage === undefined) {
      graph = partGraph(resolved.graph, part)
      partRegistry = registry
    } else {
      yield* deps.table.ensureExchange
      // the stage's registry reads the keyed nodes' entries before the run prepares (and so loads)
      // the workflow's types: a registry with lazy processors (the CLI's) loads them first
      if (registry.load !== undefined) {
        const load = registry.load
        yield* Effect.forEach(keyed, (n) => load("processor", n.type), { discard: true }).pipe(
          Effect.mapError((error) => failed(`on runner ${deps.runner}: ${error.message}`))
        )
      }
      graph = partGraph(Exchange.stageGraph(resolved.graph, keyed, stage, Redacted.value(deps.url), deps.prefix), part)
      // the parts of the stage before: this stage's producers
      const first = (stage.stage - 2) * stage.n
      const routed = Exchange.stageRegistry(registry, resolved.graph, keyed, stage, {
        url: Redacted.value(deps.url),
        prefix: deps.prefix,
        workflow,
        producersDone: Effect.map(deps.table.parts(workflow), (rows) => {
          const producers = rows.filter((r) => r.part >= first && r.part < first + stage.n)
          const failedOne = producers.find((r) => r.status === "failed")
          return {
            done: producers.length === stage.n && producers.every((r) => r.status === "done"),
            failed: failedOne === undefined ? undefined : `stage-${stage.stage - 1} part ${failedOne.part} failed: ${failedOne.message ?? ""}`
          }
        })
      })
      if (typeof routed === "string") return yield* failed(`on runner ${deps.runner}: ${routed}`)
      partRegistry = routed
    }
    // a source split in n ranges: stage-1 parts are its n ranges (of the (k+1)·n parts of a keyed workflow)
    const split = stage === undefined ? parts : stage.n
    // stopped before it started (`dataflare stop`): it does not start
    if (yield* deps.table.stopRequested(workflow, part)) {
      yield* deps.table.ended(workflow, part, "stopped", undefined, null)
      return { recordsIn: 0, recordsOut: 0 }
    }
    const role = stage === undefined ? null : Exchange.roleOf(resolved.graph, stage)
    yield* deps.table.started(workflow, part, deps.runner, role)
    // the global checkpoints of the coordinator (coordinator.ts) replace the part's own timer
    const { checkpoint_interval: _, ...execution } = graph.execution
    graph = { ...graph, execution }
    let handle: Runtime.RunHandle | undefined
    let lastCheckpoint = 0
    // one poll for both: `dataflare stop` (the run takes a checkpoint where it is and ends, the
    // runtime's graceful stop), and the workflow's epoch — when it is past the one this part
    // acknowledged, the part takes a checkpoint and acknowledges the epoch with it
    const control = Effect.gen(function*() {
      while (true) {
        const seen = yield* Effect.orElseSucceed(deps.table.control(workflow, part), () => undefined)
        if (seen?.stop === true) return
        if (seen !== undefined && handle !== undefined && seen.epoch > seen.acked) {
          // false: every source has ended (the part's final checkpoint acknowledges it by ending);
          // a failed checkpoint fails the run, and the run's failure is the part's
          const taken = yield* Effect.exit(handle.checkpoint)
          if (taken._tag === "Success" && taken.value && lastCheckpoint > 0) {
            yield* Effect.ignore(deps.table.acked(workflow, part, seen.epoch, lastCheckpoint))
            continue
          }
        }
        yield* Effect.sleep(STOP_POLL_MS)
      }
    })
    const backend = PostgresBackend.layer({ url: deps.url, tablePrefix: `${deps.prefix}_state` })
    const summary = yield* Effect.provideService(withPartRegistry(
      Runtime.run(graph, {
        stop: control,
        onStart: (h) => Effect.sync(() => void (handle = h)),
        onCheckpoint: (info) =>
          Effect.andThen(
            Effect.sync(() => void (lastCheckpoint = info.id)),
            Effect.ignore(deps.table.checkpointed(workflow, part, info.id))
          ),
        progressInterval: 1000,
        onProgress: (progress) => {
          const c = counts(progress.nodes)
          return Effect.ignore(deps.table.progress(workflow, part, c.recordsIn, c.recordsOut))
        }
      }),
      part,
      split
    ), Registry, partRegistry).pipe(Effect.provide(Layer.fresh(backend)))
    const result = counts(summary.nodes)
    const status = summary.stopped !== undefined ? "stopped" : "done"
    // a consumer that read everything: what is left of its key groups' rows is read (and covered)
    if (status === "done" && stage !== undefined && stage.stage > 1) {
      yield* deps.table.clearExchange(workflow, stage.stage - 1, Exchange.consumerGroups(resolved.graph, stage.index, stage.n))
    }
    yield* deps.table.ended(workflow, part, status, { ...result, resumedFrom: summary.resumedFrom?.checkpoint ?? null }, null)
    return result
  }).pipe(
    // everything that ends a part other than an interruption (its shard moved, the runner stops)
    // is its failure, recorded and replied; an interruption leaves the request to the next holder
    Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      const error = Cause.squash(cause)
      const message = error instanceof Error ? error.message : String(error)
      return Effect.andThen(
        Effect.ignore(deps.table.ended(workflow, part, "failed", undefined, message)),
        Effect.fail(failed(message))
      )
    })
  )
  return consumesExchange(request) ? run : deps.withPermit(run)
}

/** Whether a part reads the exchange (a stage after the first: it waits on the stage before, outside `--max-parts`). */
const consumesExchange = (request: PartRequest): boolean => {
  try {
    const keyed = Exchange.keyedNodes(JSON.parse(request.graph) as WorkflowGraph).length
    return keyed > 0 && Exchange.stageOf(request.part, request.parts, keyed).stage > 1
  } catch {
    return false
  }
}

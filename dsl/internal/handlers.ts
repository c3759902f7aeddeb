/**
 * Run-time side of `.retry` and `.catchTag`: wrapping the user function of a `process` or `via`
 * node so its failures are retried or handled. Only user steps have functions to wrap; the typed
 * builder lets these be called only after one (the type of the last step's errors is `never`
 * otherwise), and a call after another step is refused with a `DefinitionError`.
 *
 * @since 0.1.0
 */
import { Effect, type Schedule, Stream } from "effect"
import { DefinitionError } from "../../src/Errors.ts"
import type { Node } from "../../src/WorkflowGraph.ts"

type BatchFn = (records: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<unknown>, unknown, unknown>
type StreamFn = (records: Stream.Stream<unknown>) => Stream.Stream<unknown, unknown, unknown>

/** How each kind of user node's function is wrapped. */
interface Wrap {
  readonly process: (fn: BatchFn) => BatchFn
  readonly via: (fn: StreamFn) => StreamFn
}

/**
 * The whole output of a `via` function for one batch. Retrying or replacing a stream that already
 * emitted some records would emit them twice (or mix them with the handler's), so a handled
 * stream is run to its end before anything of it goes on: all of the batch, or a retry/handler.
 */
const wholeBatch = (fn: StreamFn, records: Stream.Stream<unknown>): Effect.Effect<ReadonlyArray<unknown>, unknown, unknown> =>
  Stream.runCollect(Stream.suspend(() => fn(records)))

const fnOf = (node: Node): unknown =>
  typeof node.config === "object" && node.config !== null && "fn" in node.config ? node.config.fn : undefined

const wrapNode = (node: Node, what: string, wrap: Wrap): Node => {
  const fn = fnOf(node)
  if (typeof fn === "function" && node.type === "process") {
    return { ...node, config: { ...(node.config as object), fn: wrap.process(fn as BatchFn) } }
  }
  if (typeof fn === "function" && node.type === "via") {
    return { ...node, config: { ...(node.config as object), fn: wrap.via(fn as StreamFn) } }
  }
  throw new DefinitionError({
    issues: [{
      path: `transformations.${node.id}`,
      message: `${what} follows node '${node.id}' (${node.type}): only a user step (process, or via with a Stream function) can be retried or have its errors caught`
    }]
  })
}

/** The node with its user function retried by `schedule`. */
export const retryNode = (node: Node, schedule: Schedule.Schedule<unknown, unknown, unknown, unknown>): Node =>
  wrapNode(node, "retry", {
    process: (fn) => (records) => Effect.retry(Effect.suspend(() => fn(records)), schedule),
    via: (fn) => (records) => Stream.fromIterableEffect(Effect.retry(wholeBatch(fn, records), schedule))
  })

/** The node with the failures tagged `tag` of its user function replaced by `handler`'s records. */
export const catchTagNode = (
  node: Node,
  tag: string,
  handler: (error: never) => ReadonlyArray<unknown> | Effect.Effect<ReadonlyArray<unknown>, unknown, unknown>
): Node => {
  const recover = (error: unknown): Effect.Effect<ReadonlyArray<unknown>, unknown, unknown> => {
    if (typeof error === "object" && error !== null && "_tag" in error && error._tag === tag) {
      const out = (handler as (error: unknown) => ReadonlyArray<unknown> | Effect.Effect<ReadonlyArray<unknown>, unknown, unknown>)(error)
      return Effect.isEffect(out) ? out : Effect.succeed(out)
    }
    return Effect.fail(error)
  }
  return wrapNode(node, `catchTag '${tag}'`, {
    process: (fn) => (records) => Effect.catch(Effect.suspend(() => fn(records)), recover),
    via: (fn) => (records) => Stream.fromIterableEffect(Effect.catch(wholeBatch(fn, records), recover))
  })
}

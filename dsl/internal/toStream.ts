/**
 * Running a workflow as a `Stream` of one node's output records: the node gets a `stream` sink
 * whose writes hand each batch to the consuming stream through a queue of one batch, so a slow
 * consumer slows the whole workflow (the queue is full, the sink task waits, the channels before
 * it fill, the sources wait). The run is a fiber in the stream's scope: when the consumer stops
 * (it ends early, is interrupted, or fails), the scope closes, the run is interrupted, and every
 * connector is released.
 *
 * Checkpoints still work: the sink's flush puts a marker in the queue and waits until the
 * consumer has pulled it, i.e. every record before the checkpoint's barrier was handed to the
 * consumer (at-least-once: after a restore the consumer may see again the records since the last
 * checkpoint).
 *
 * @since 0.1.0
 */
import { Array as Arr, type Cause, Deferred, Effect, Exit, Queue, Stream } from "effect"
import type { Registry } from "../../src/Registry.ts"
import type * as Runtime from "../../src/Runtime.ts"
import * as Spec from "../../src/Spec.ts"
import { runTyped } from "./run.ts"
import type { RunError, TypedGraph } from "./types.ts"

type Item =
  | { readonly _tag: "Records"; readonly records: ReadonlyArray<unknown> }
  | { readonly _tag: "Flush"; readonly done: Deferred.Deferred<void> }

/** A node id not in `taken`: `base`, else `base_2`, `base_3`, ... */
export const freshId = (base: string, taken: ReadonlyArray<string>): string => {
  if (!taken.includes(base)) return base
  let i = 2
  while (taken.includes(`${base}_${i}`)) i++
  return `${base}_${i}`
}

/**
 * The stream of the records that reach the sink `build` adds to the workflow (given the sink's
 * spec), run with `Runtime.run` and `options`.
 */
export const streamOf = <B, E, R>(
  build: (sink: Spec.SinkSpec<unknown>) => TypedGraph<string, E, R>,
  options?: Runtime.RunOptions
): Stream.Stream<B, RunError<E>, R | Registry> =>
  Stream.unwrap(Effect.gen(function*() {
    const queue = yield* Queue.bounded<Item, RunError<E> | Cause.Done>(1)
    const write = (records: ReadonlyArray<unknown>) => Queue.offer(queue, { _tag: "Records", records })
    const flush = Effect.gen(function*() {
      const done = yield* Deferred.make<void>()
      // false: the consumer is gone, and the run is being interrupted
      if (yield* Queue.offer(queue, { _tag: "Flush", done })) yield* Deferred.await(done)
    })
    const graph = build(Spec.sink("stream", { write, flush }))
    yield* Effect.forkScoped(
      runTyped(graph, options).pipe(
        Effect.exit,
        Effect.flatMap((exit) => (Exit.isSuccess(exit) ? Queue.end(queue) : Queue.failCause(queue, exit.cause)))
      )
    )
    const pull = Effect.gen(function*() {
      while (true) {
        const item = yield* Queue.take(queue)
        if (item._tag === "Flush") {
          yield* Deferred.succeed(item.done, undefined)
          continue
        }
        // the records reaching the node have the node's output type (the DSL's types say so)
        const records = item.records as ReadonlyArray<B>
        if (Arr.isReadonlyArrayNonEmpty(records)) return records
      }
    })
    return Stream.fromPull(Effect.succeed(pull))
  }))

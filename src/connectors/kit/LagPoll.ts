/**
 * A source's lag measured by a light periodic query: the last value, cached for the synchronous
 * `SourceReader.lag`.
 *
 * The query runs on a fiber forked in the reader's scope (interrupted with it), once right away
 * and then every `everyMs`; it must use a connection of its own or a non-blocking one — never the
 * connection a blocking read waits on. A failed query leaves the lag unknown (`undefined`) until
 * the next one succeeds: a stale value would say the source is keeping up when it may not be.
 *
 * @since 0.4.0
 */
import { Effect, type Scope } from "effect"
import type { SourceLag } from "../../Connector.ts"

/**
 * What {@link poll} needs.
 *
 * @category models
 * @since 0.4.0
 */
export interface LagPollOptions<E> {
  /** Queries the lag (`undefined`: the source cannot tell now). */
  readonly query: Effect.Effect<number | undefined, E>
  /** The unit of the value. */
  readonly unit: SourceLag["unit"]
  /** The pause between queries (default 1000 ms). */
  readonly everyMs?: number | undefined
  /** Added to each value read, when read (for instance: records read ahead and not yet returned). */
  readonly extra?: (() => number) | undefined
}

/**
 * Starts polling in the current scope; the function to use as `SourceReader.lag`.
 *
 * @category constructors
 * @since 0.4.0
 */
export const poll = <E>(options: LagPollOptions<E>): Effect.Effect<() => SourceLag | undefined, never, Scope.Scope> =>
  Effect.gen(function*() {
    let last: number | undefined
    const once = options.query.pipe(
      Effect.orElseSucceed(() => undefined),
      Effect.flatMap((value) => Effect.sync(() => void (last = value)))
    )
    const loop = Effect.forever(Effect.andThen(once, Effect.sleep(options.everyMs ?? 1000)))
    yield* Effect.forkScoped(loop)
    return () => (last === undefined ? undefined : { value: last + (options.extra?.() ?? 0), unit: options.unit })
  })

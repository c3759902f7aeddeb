/**
 * Reading helpers shared by the broker source tests (nats, redis-streams, rabbitmq, mqtt): read
 * until some records arrived, the numbered payloads `{ n }` the tests publish, and the
 * dead-letter file they check.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, type Scope } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type { Position } from "../../../src/Batch.ts"
import type { SourceReader } from "../../../src/Connector.ts"

/**
 * Reads until `n` records arrived, in batches of at most `max`, or `tries` empty batches came in
 * a row (a broker source returns empty batches while nothing arrives); the records and the
 * position of the last non-empty batch (`null` when none).
 */
export const readN = <A>(reader: SourceReader<A>, n: number, max = 100, tries = 300) =>
  Effect.gen(function*() {
    const records: Array<A> = []
    let position: Position = null
    let empty = 0
    while (records.length < n && empty < tries) {
      const batch = yield* reader.readBatch(Math.min(max, n - records.length))
      if (batch === undefined) break
      if (Batch.size(batch) === 0) {
        empty++
        continue
      }
      empty = 0
      Batch.forEach(batch, (r) => records.push(r))
      position = batch.origin!.position
    }
    return { records, position }
  })

/** `from..to`, inclusive. */
export const range = (from: number, to: number): Array<number> => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** The JSON payloads `{ n: i }` for `from..to`. */
export const payloads = (from: number, to: number): Array<string> => range(from, to).map((n) => JSON.stringify({ n }))

/** The records `{ n: i }` for `from..to`. */
export const numbered = (from: number, to: number): Array<{ readonly n: number }> => range(from, to).map((n) => ({ n }))

/** The `n` of records `{ n }` (redis-streams records hold it as a string). */
export const numbers = (records: ReadonlyArray<unknown>): Array<number> => records.map((r) => Number((r as { readonly n: unknown }).n))

/** A dead-letter path in a temporary directory removed with the scope. */
export const deadLetterPath: Effect.Effect<string, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "brokers-dl-"))),
    (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
  ),
  (dir) => join(dir, "dead.ndjson")
)

/** The envelopes of a dead-letter file (none when it does not exist). */
export const deadLetters = (path: string): Effect.Effect<Array<{ readonly [key: string]: unknown }>> =>
  Effect.promise(() =>
    readFile(path, "utf8").then(
      (t) => t.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as { readonly [key: string]: unknown }),
      () => []
    )
  )

/**
 * Helpers for the backend tests: temp directories, records, log capture, and checks shared by
 * the durable backends beyond the conformance suite.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert } from "@effect/vitest"
import { Effect, Logger } from "effect"
import type { CheckpointRecord } from "../../src/Checkpoint.ts"
import type { Backend } from "../../src/StateBackend.ts"

/** A temp directory removed with the scope. */
export const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "dataflare-backend-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

/** A record whose one operator `op/0` holds (full) or changes (incremental) `entries`. */
export const record = (
  workflow: string,
  id: number,
  full: boolean,
  upserts: ReadonlyArray<readonly [string, unknown]>,
  deletes: ReadonlyArray<string> = []
): CheckpointRecord => ({
  format: 1,
  workflow,
  id,
  startedAt: id * 1000,
  completedAt: id * 1000 + 3,
  full,
  positions: [{ node: "src", instance: 0, position: id }],
  operators: [{ node: "op", instance: 0, version: 1, full, upserts, deletes }],
  final: false
})

/** The entries of `op/0` restored by `backend`, sorted. */
export const entriesOf = (backend: Backend, workflow: string) =>
  Effect.map(backend.latest(workflow), (r) => (r === undefined ? undefined : [...(r.operators.get("op/0")?.entries ?? [])].sort()))

/** Runs `effect` with a logger collecting warning messages. */
export const withWarnings = <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const warnings: Array<string> = []
  const collector = Logger.make((options) => {
    if (options.logLevel === "Warn") warnings.push(Array.isArray(options.message) ? options.message.join(" ") : String(options.message))
  })
  return Effect.map(Effect.provide(effect, Logger.layer([collector])), (a) => ({ value: a, warnings }))
}

/**
 * After a restore from an older checkpoint (newer ones unreadable), writing the next id must
 * discard the abandoned timeline: the newer records never chain onto the new one.
 */
export const checkRewind = (backend: Backend, workflow: string, damage: (id: number) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    yield* backend.write(record(workflow, 1, true, [["a", 1]]))
    yield* backend.write(record(workflow, 2, false, [["b", 2]]))
    yield* backend.write(record(workflow, 3, false, [["c", 3]]))
    yield* backend.write(record(workflow, 4, false, [["d", 4]]))
    yield* damage(3)
    assert.strictEqual((yield* backend.latest(workflow))?.id, 2)
    // the runtime restored 2 and continues with 3 (relative to 2)
    yield* backend.write(record(workflow, 3, false, [["e", 5]]))
    assert.deepStrictEqual(yield* entriesOf(backend, workflow), [["a", 1], ["b", 2], ["e", 5]])
    assert.deepStrictEqual((yield* backend.list(workflow, 10)).map((i) => i.id), [3, 2, 1])
  })


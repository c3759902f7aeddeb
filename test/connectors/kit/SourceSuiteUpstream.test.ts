/**
 * The source suite's `upstream` case (src/testing/SourceSuite.ts) against a fake server log with
 * an acknowledged offset: a source that acknowledges only what `commit` covers passes; one that
 * acknowledges what it reads, one that acknowledges past the committed position on `commit`, and
 * one whose new reader starts before the acknowledged offset each fail it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type { Position } from "../../../src/Batch.ts"
import type { SourceReader } from "../../../src/Connector.ts"
import { SourceSuite } from "../../../src/testing/index.ts"

const N = 30
const records = Array.from({ length: N }, (_, i) => ({ n: i }))

type Fault = "none" | "acks-on-read" | "acks-past-commit" | "restarts-before-acked"

const offsetOf = (p: Position): number => (typeof p === "object" && p !== null && "offset" in p && typeof p.offset === "number" ? p.offset : -1)

/** A log of N records on a "server" that keeps an acknowledged offset; a reader starts there. */
const fakeSource = (fault: Fault) =>
  Effect.sync(() => {
    const server = { acked: 0 }
    const open = Effect.sync((): SourceReader<unknown> => {
      let cursor = fault === "restarts-before-acked" ? Math.max(0, server.acked - 1) : server.acked
      const position = () => ({ offset: cursor })
      return {
        readBatch: (max) =>
          Effect.sync(() => {
            const taken = records.slice(cursor, cursor + max)
            cursor += taken.length
            if (fault === "acks-on-read") server.acked = cursor
            return taken.length === 0
              ? Batch.empty({ origin: { source: "fake", position: position() } })
              : Batch.make(taken, { origin: { source: "fake", position: position() } })
          }),
        position: Effect.sync(position),
        seek: (p) => Effect.sync(() => void (cursor = offsetOf(p))),
        commit: (p) => Effect.sync(() => void (server.acked = Math.max(server.acked, fault === "acks-past-commit" ? cursor : offsetOf(p))))
      }
    })
    return { open, expected: records, acknowledged: Effect.sync(() => server.acked) }
  })

const upstreamCase = (fault: Fault) => {
  const c = SourceSuite.cases(fakeSource(fault), {
    batchSizes: [1, 7],
    unbounded: { idleMs: 50 },
    upstream: { covers: (acknowledged, position) => typeof acknowledged === "number" && acknowledged >= offsetOf(position), settleMs: 20 }
  }).find((c) => c.name.startsWith("acknowledges upstream only what a commit covers"))
  assert.ok(c !== undefined, "the suite has the upstream case")
  return c
}

describe("source suite: the upstream case", () => {
  it.live("passes a source that acknowledges only what a commit covers", () => upstreamCase("none").run)

  const faults = [
    ["acks-on-read", "before any commit"],
    ["acks-past-commit", "past the commit"],
    ["restarts-before-acked", "opened without seek"]
  ] as const
  for (const [fault, check] of faults) {
    it.live(`fails a source that ${fault.replaceAll("-", " ")}: "${check}"`, () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(upstreamCase(fault).run)
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.include(error instanceof Error ? error.message : String(error), check)
      }))
  }

  it("is not a case without the option", () => {
    const names = SourceSuite.cases(fakeSource("none"), { unbounded: { idleMs: 50 } }).map((c) => c.name)
    assert.isFalse(names.some((n) => n.startsWith("acknowledges upstream")))
  })
})

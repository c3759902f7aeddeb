/**
 * A file source's identity kept with its positions (issue 12, item 5): what `checkRestore`
 * accepts (the same file, an appended one) and refuses (replaced, rewritten, truncated, gone, an
 * appended file read in byte ranges), before anything is opened.
 */
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import type { Position } from "../../src/Batch.ts"
import { RestoreError } from "../../src/Checkpoint.ts"
import { checkRestore, identify } from "../../src/internal/filePosition.ts"

const dir = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-identity-"))),
  (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
)

const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${from + i},row ${from + i}\n`).join("")

/** Checks a position saved for `file` (with its identity then) against the file as it is now. */
const check = (file: string, position: Position, input: unknown, parallelism = 1) =>
  Effect.exit(checkRestore("csv", file, { workflow: "w", node: "src", instance: 0, parallelism, checkpoint: 4, final: true, position, input }))

const reason = (exit: Exit.Exit<void, unknown>): string => {
  if (Exit.isSuccess(exit)) return "accepted"
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  return failure !== undefined && failure._tag === "Fail" && failure.error instanceof RestoreError ? failure.error.message : "other failure"
}

describe("file identity", () => {
  it.effect("the same file and an appended one resume; replaced, rewritten, truncated or gone ones are refused", () =>
    Effect.gen(function*() {
      const file = join(yield* dir, "in.csv")
      // large enough that the head and the bytes before the position are different spans
      const original = "id,name\n" + rows(0, 2000)
      yield* Effect.promise(() => writeFile(file, original))
      const position = { offset: Buffer.byteLength(original), line: 2002 }
      const input = yield* identify("csv", file, position)
      assert.strictEqual(reason(yield* check(file, position, input)), "accepted")

      yield* Effect.promise(() => appendFile(file, rows(2000, 2100)))
      assert.strictEqual(reason(yield* check(file, position, input)), "accepted", "appended: the resume reads what was added")

      // same size, other content at the start
      yield* Effect.promise(() => writeFile(file, original.replace("id,name", "ID,NAME") + rows(2000, 2100)))
      assert.include(reason(yield* check(file, position, input)), "was replaced or rewritten (its first 4096 bytes differ")

      // the same start, other bytes just before the position
      yield* Effect.promise(() => writeFile(file, original.replace("1999,row 1999", "1999,row 9999")))
      assert.include(reason(yield* check(file, position, input)), "was rewritten (the 4096 bytes before the saved position differ")

      yield* Effect.promise(() => writeFile(file, "id,name\n" + rows(0, 10)))
      assert.match(reason(yield* check(file, position, input)), /is \d+ bytes long, shorter than the \d+ bytes checkpoint 4 had read/)

      yield* Effect.promise(() => rm(file))
      assert.include(reason(yield* check(file, position, input)), "no longer exists")
    }).pipe(Effect.scoped))

  it.effect("text appended to a last record without a line break continues that record: refused; a line break first resumes", () =>
    Effect.gen(function*() {
      const file = join(yield* dir, "in.csv")
      // a one-column file whose writer had not finished its last line: the run read `12`
      const original = "v\n10\n12"
      for (const [appended, expected] of [
        ["34\n56\n", "was appended to right after its last record, which had no line break when checkpoint 4 was taken"],
        ["\r56\n", "was appended to right after its last record"],
        ["\n56\n", "accepted"],
        ["\r\n56\r\n", "accepted"]
      ] as const) {
        yield* Effect.promise(() => writeFile(file, original))
        const position = { offset: Buffer.byteLength(original), line: 4 }
        const input = yield* identify("csv", file, position)
        assert.strictEqual(reason(yield* check(file, position, input)), "accepted", "nothing appended yet")
        yield* Effect.promise(() => appendFile(file, appended))
        const got = reason(yield* check(file, position, input))
        if (expected === "accepted") assert.strictEqual(got, "accepted", JSON.stringify(appended))
        else {
          assert.include(got, expected, JSON.stringify(appended))
          assert.include(got, "continues the record that ends on line 3")
        }
      }
      // a last record that ended with its line break takes any appended text
      yield* Effect.promise(() => writeFile(file, "v\n10\n"))
      const position = { offset: 5, line: 3 }
      const input = yield* identify("csv", file, position)
      yield* Effect.promise(() => appendFile(file, "34\n"))
      assert.strictEqual(reason(yield* check(file, position, input)), "accepted")
    }).pipe(Effect.scoped))

  it.effect("an appended file read in byte ranges is refused: the ranges move with its size", () =>
    Effect.gen(function*() {
      const file = join(yield* dir, "in.csv")
      const original = "id,name\n" + rows(0, 500)
      yield* Effect.promise(() => writeFile(file, original))
      const position = { offset: 3000, line: 300, range: { index: 0, count: 2 } }
      const input = yield* identify("csv", file, position)
      assert.strictEqual(reason(yield* check(file, position, input, 2)), "accepted")
      yield* Effect.promise(() => appendFile(file, rows(500, 600)))
      assert.include(reason(yield* check(file, position, input, 2)), "changed size")
    }).pipe(Effect.scoped))
})

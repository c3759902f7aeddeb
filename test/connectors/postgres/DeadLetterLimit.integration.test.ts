/**
 * `dead_letter.max_bytes` of the postgres sink (issue 21, resource limits): rejected rows go to the
 * dead-letter file until it would grow past the limit; then the write fails naming the file, the
 * limit and the first row not set aside — an input rejected wholesale does not fill the disk.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { PostgresSink } from "../../../src/connectors/postgres/PostgresSink.ts"
import { RecordError } from "../../../src/Errors.ts"
import { context, decode, URL, withTable } from "./support.ts"

const deadLetterPath = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "df-dlq-limit-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => join(dir, "rejected.ndjson")))

describe("postgres sink dead letters", () => {
  it.effect("the dead-letter file stops at dead_letter.max_bytes: the write then fails, naming the file and the limit", () =>
    Effect.gen(function*() {
      const { table } = yield* withTable("df_dlq_limit", `(id int, name text)`)
      const path = yield* deadLetterPath
      const writer = yield* PostgresSink.open(
        decode(PostgresSink.config, { connection_string: URL, table, on_error: "dead_letter", dead_letter: { path, max_bytes: 600 } }),
        context("out")
      )
      const good = Array.from({ length: 5 }, (_, i) => ({ id: i, name: `ok${i}` }))
      // two bad rows fit in 600 bytes
      yield* writer.writeBatch(Batch.make([...good, { id: "x", name: "bad 1" }, { id: "y", name: "bad 2" }]))
      const lines = readFileSync(path, "utf8").trim().split("\n")
      assert.strictEqual(lines.length, 2)
      // a batch of many bad rows does not
      const exit = yield* Effect.exit(writer.writeBatch(Batch.make(Array.from({ length: 20 }, (_, i) => ({ id: `bad${i}`, name: "x" })))))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const e = error?._tag === "Fail" ? error.error : undefined
      assert.instanceOf(e, RecordError)
      assert.include((e as RecordError).message, `the dead-letter file ${path} would grow past dead_letter.max_bytes (600 bytes`)
      assert.strictEqual(readFileSync(path, "utf8").trim().split("\n").length, 2, "nothing more was appended")
    }).pipe(Effect.scoped))
})

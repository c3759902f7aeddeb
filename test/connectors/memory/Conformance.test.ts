/**
 * Every built-in seekable source runs the source conformance suite of `dataflare/testing`.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { openSource, tempDir } from "../csv/support.ts"

const rows = Array.from({ length: 500 }, (_, i) => ({ id: i, text: i % 4 === 0 ? `multi\nline "q", ü🙂 ${i}` : `t${i}` }))

sourceSuite(
  "csv source conformance",
  Effect.gen(function*() {
    const dir = yield* tempDir
    const path = join(dir, "in.csv")
    writeFileSync(
      path,
      "id,text\r\n" + rows.map((r) => `${r.id},"${r.text.replaceAll('"', '""')}"\r\n`).join("")
    )
    return { open: openSource("csv", { path, columns: { id: "integer" } }), expected: rows }
  })
)

sourceSuite(
  "ndjson source conformance",
  Effect.gen(function*() {
    const dir = yield* tempDir
    const path = join(dir, "in.ndjson")
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join("\n\n"))
    return { open: openSource("ndjson", { path }), expected: rows }
  })
)

sourceSuite("memory source conformance", Effect.succeed({ open: openSource("memory", { records: rows }), expected: rows }))

sourceSuite(
  "generator source conformance",
  Effect.succeed({
    open: openSource("generator", { count: 300, fields: { k: "v" } }),
    expected: Array.from({ length: 300 }, (_, i) => ({ id: i, k: "v" }))
  })
)

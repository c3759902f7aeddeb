import { spawnSync } from "node:child_process"
import { closeSync, openSync, statSync, writeSync } from "node:fs"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { tempDir } from "./support.ts"

const node = resolve(import.meta.dirname, "../../../node_modules/.bin/node")
const script = resolve(import.meta.dirname, "fixtures/countRecords.ts")

describe("csv source memory", () => {
  it.live("streams a ~100 MB file in a process whose heap is capped at 48 MB", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "big.csv")
      const rows = 2_800_000
      let expectedSum = 0
      const fd = openSync(path, "w")
      let chunk = "id,name,note,amount\n"
      for (let i = 0; i < rows; i++) {
        chunk += i % 100 === 0
          ? `${i},customer ${i % 9973},"note, with ""quotes""\n${i}",${(i % 1000) / 4}\n`
          : `${i},customer ${i % 9973},plain note,${(i % 1000) / 4}\n`
        expectedSum += i
        if (chunk.length > 1 << 20) {
          writeSync(fd, chunk)
          chunk = ""
        }
      }
      writeSync(fd, chunk)
      closeSync(fd)
      const size = statSync(path).size
      assert.isAbove(size, 100 * 1024 * 1024)
      const child = spawnSync(node, ["--max-old-space-size=48", "--experimental-strip-types", "--no-warnings", script, path], {
        encoding: "utf8",
        timeout: 240_000
      })
      assert.strictEqual(child.status, 0, child.stderr)
      assert.deepStrictEqual(JSON.parse(child.stdout), { count: rows, sum: expectedSum })
    })), 300_000)
})

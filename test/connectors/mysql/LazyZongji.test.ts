/**
 * An architecture rule: `@vlasky/zongji` (the binlog client, with its own protocol parsers) is
 * loaded only when a `mysql-cdc` source opens, so `dataflare` start-up and every other workflow do
 * not pay for it. Only type imports of it may appear in `src/`; the one value import is the
 * dynamic `import("@vlasky/zongji")` of the binlog stream.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"

const src = resolve(import.meta.dirname, "../../../src")

const files = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  )

describe("zongji is loaded lazily", () => {
  it("src/ imports only its types statically, and loads it with one dynamic import", () => {
    const statics: Array<string> = []
    const dynamics: Array<string> = []
    for (const file of files(src)) {
      const text = readFileSync(file, "utf8")
      for (const m of text.matchAll(/^\s*import\s+(type\s+)?[^;]*?from\s+["']@vlasky\/zongji["']/gmu)) {
        if (m[1] === undefined) statics.push(`${file}: ${m[0].trim()}`)
      }
      if (/import\(\s*["']@vlasky\/zongji["']\s*\)/u.test(text)) dynamics.push(file)
    }
    assert.deepStrictEqual(statics, [], "value imports of @vlasky/zongji load it at start-up")
    assert.deepStrictEqual(dynamics.map((f) => f.slice(src.length + 1)), ["connectors/mysql/internal/binlog.ts"])
  })
})

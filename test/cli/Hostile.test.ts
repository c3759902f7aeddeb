/**
 * Hostile input from the CLI, where a user meets it (issue 21): an alias bomb and a binary
 * workflow file exit 1 with a location and no stack trace; a CSV whose header and values carry
 * terminal escape sequences and bytes that are not UTF-8 fails the run with exit 3, naming
 * file:line:field, with every control character escaped and nothing written past the error.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "./support.ts"

const bomb = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  ...["b", "c", "d", "e", "f", "g", "h", "i"].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefgh"[i]}`).join(",")}]`)
]

describe("hostile input through the CLI", () => {
  it.live("an alias bomb and a binary workflow file: exit 1, a location, no stack trace", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      writeFileSync(
        join(dir, "bomb.yaml"),
        `name: bomb\nsources:\n  in:\n    type: csv\n    config:\n${bomb.map((l) => `      ${l}`).join("\n")}\ndestinations:\n  out: { type: ndjson, inputs: [in], config: { path: o.ndjson } }\n`
      )
      writeFileSync(join(dir, "binary.yaml"), Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256)))
      const [b, bin] = yield* Effect.all([cli(["validate", "bomb.yaml"], { cwd: dir }), cli(["validate", "binary.yaml"], { cwd: dir })], { concurrency: 2 })
      assert.strictEqual(b.status, 1)
      assert.include(b.stderr, "bomb.yaml:5:5 sources.in.config: this value expands its aliases (*name) more than 1000 times")
      assert.notInclude(b.stderr, "ReferenceError")
      assert.notMatch(b.stderr, /\n\s+at /)
      assert.strictEqual(bin.status, 1)
      assert.match(bin.stderr, /^binary\.yaml:1:\d+: /)
      assert.notMatch(bin.stderr, /\n\s+at /)
    })))

  it.live("a CSV with escape sequences and Latin-1 bytes: exit 3 naming file:line:field, control characters escaped", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const rows = Array.from({ length: 50 }, (_, i) => `${i},ok`).join("\n")
      writeFileSync(
        join(dir, "in.csv"),
        Buffer.concat([Buffer.from(`id,\u001b[31mname\n${rows}\n51,Jos`), Buffer.from([0xe9]), Buffer.from("\n52,after\n")])
      )
      writeFileSync(
        join(dir, "w.yaml"),
        "name: hostile\nsources:\n  in: { type: csv, config: { path: in.csv } }\ndestinations:\n  out: { type: ndjson, inputs: [in], config: { path: out.ndjson } }\n"
      )
      const run = yield* cli(["run", "w.yaml", "--quiet"], { cwd: dir })
      assert.strictEqual(run.status, 3, run.stderr)
      assert.include(run.stderr, "in.csv:52:2: field '\\x1B[31mname': the file is not UTF-8 text here: byte 0xE9")
      assert.notInclude(run.stderr, "\u001b[31m")
      assert.notMatch(run.stderr, /\n\s+at /)
      // nothing of the record with the bad byte, or after it, was written
      const out = join(dir, "out.ndjson")
      assert.notInclude(existsSync(out) ? readFileSync(out, "utf8") : "", "after")
    })))
})

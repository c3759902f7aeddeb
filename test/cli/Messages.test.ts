/**
 * What `dataflare run` prints, and where: results on stdout only, warnings (a restart, an ignored
 * checkpoint file) on stderr with `--quiet` too, an expression that fails at run time named by
 * its place in the workflow file and the record it failed on, and control characters coming
 * from the data escaped.
 */
import { readdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "./support.ts"

const write = (path: string, text: string) => Effect.promise(() => writeFile(path, text))

/** A workflow whose filter fails on the first record whose amount is not a number. */
const failing = (restart: string, condition = "id == '0' || amount * 2 > 3") => `name: expr
execution:
  restart_strategy: ${restart}
sources:
  orders: { type: csv, config: { path: orders.csv } }
transformations:
  large:
    type: filter
    inputs: [orders]
    config:
      condition: "${condition}"
destinations:
  out: { type: ndjson, inputs: [large], config: { path: out.ndjson } }
`

describe("messages of dataflare run (process)", () => {
  it.live("a restart warning goes to stderr, with --quiet too; stdout stays empty", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "orders.csv"), "id,amount\n1,5\n2,x\n")
      yield* write(join(dir, "wf.yaml"), failing("{ type: fixed-delay, attempts: 1, delay: 10ms }"))
      const [plain, quiet] = yield* Effect.all([
        cli(["run", "wf.yaml"], { cwd: dir }),
        cli(["run", "wf.yaml", "-q"], { cwd: dir })
      ], { concurrency: 2 })
      for (const result of [plain, quiet]) {
        assert.strictEqual(result.status, 3)
        assert.strictEqual(result.stdout, "")
        const lines = result.stderr.trimEnd().split("\n")
        assert.strictEqual(lines.length, 2, result.stderr)
        assert.match(lines[0], /^warning: workflow 'expr': restart 1 in 10 ms from checkpoint 0 after: node 'large' failed: /)
        assert.match(lines[1], /^error: node 'large' failed: /)
      }
    }))

  it.live("an ignored (damaged) checkpoint file is a warning on stderr; stdout carries the summary only", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "orders.csv"), "id,amount\n1,5\n2,7\n")
      yield* write(join(dir, "wf.yaml"), failing("{ type: none }", "amount != '5'"))
      const first = yield* cli(["run", "wf.yaml", "--state-dir", "state", "-q"], { cwd: dir })
      assert.strictEqual(first.status, 0, first.stderr)
      const names = yield* Effect.promise(() => readdir(join(dir, "state")))
      const latest = names.filter((n) => /^chk-\d+\.json$/.test(n)).sort().at(-1)!
      // the newest record is no longer JSON: a torn write, or an edit (again before the second
      // run: the first one replaces it)
      const damage = write(join(dir, "state", latest), "{ not json")
      yield* damage
      const plain = yield* cli(["run", "wf.yaml", "--state-dir", "state"], { cwd: dir })
      yield* damage
      const quiet = yield* cli(["run", "wf.yaml", "--state-dir", "state", "-q"], { cwd: dir })
      assert.strictEqual(plain.status, 0, plain.stderr)
      assert.match(plain.stdout, /^node +kind +type +records in +records out\n/)
      assert.notMatch(plain.stdout, /warn|ignoring/i)
      assert.match(plain.stderr, new RegExp(`^warning: ignoring checkpoint file state/${latest.replace(".", "\\.")}: not JSON`, "m"))
      assert.strictEqual(quiet.status, 0, quiet.stderr)
      assert.strictEqual(quiet.stdout, "")
      assert.match(quiet.stderr, /^warning: ignoring checkpoint file /m)
    }))

  it.live("an expression failing at run time names the node, its file:line:column and key, and the record", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "orders.csv"), "id,amount\n1,5\n2,x7\n3,9\n")
      yield* write(join(dir, "wf.yaml"), failing("{ type: none }"))
      const result = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.status, 3)
      assert.strictEqual(result.stdout, "")
      assert.strictEqual(
        result.stderr,
        "error: node 'large' failed: wf.yaml:11:39 transformations.large.config.condition: expression `id == '0' || amount * 2 > 3`: cannot multiply string '5' by number 2 (column 21); record 1 of 3 of a batch from 'orders' (read up to position {\"offset\":23,\"line\":5}): {\"id\":\"1\",\"amount\":\"5\"}\n"
      )
    }))

  it.live("control characters from the data are escaped in messages (no terminal escape sequence gets through)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "orders.csv"), "id,amount\n0,1\n\"\x1b[2J\x1b[31mred\r\",oops\n")
      yield* write(join(dir, "wf.yaml"), failing("{ type: none }", "id == '0' || amount == id * 2"))
      const result = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.status, 3)
      assert.notMatch(result.stderr, /[\u0000-\u0009\u000b-\u001f]/)
      assert.include(result.stderr, "cannot multiply string '\\x1B[2J\\x1B[31mred\\r' by number 2")
    }))
})

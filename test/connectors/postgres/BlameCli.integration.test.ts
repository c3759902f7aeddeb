/**
 * Who a failure is blamed on, from the CLI (issue 12, item 9): a PostgreSQL sink whose commit
 * fails (a deferred unique constraint: the server refuses the COMMIT itself) is named as the
 * failing node — not the source whose fiber ran the chained sink and completed the checkpoint —
 * and a state backend that cannot write is reported as the backend's failure, naming no node.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../../cli/support.ts"
import { sql, URL, withSchema } from "./support.ts"

const csv = `id,name\n${Array.from({ length: 200 }, (_, i) => `${i},n${i}`).join("\n")}\n`

const workflow = (table: string, schema: string, guarantee: string) =>
  [
    "name: blame",
    "execution: { batch_size: 50, checkpoint_interval: 20ms }",
    "sources:",
    "  orders: { type: csv, config: { path: in.csv, columns: { id: integer } } }",
    "destinations:",
    `  pg: { type: postgres, inputs: [orders], config: { connection_string: "${URL}", table: ${table}, checkpoint_table: ${schema}.cp, guarantee: ${guarantee} } }`
  ].join("\n")

describe("who is blamed, from the CLI (process)", () => {
  for (const guarantee of ["exactly-once", "at-least-once"]) {
    it.live(`a PostgreSQL commit the server refuses names the sink, not the source (${guarantee})`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const schema = yield* withSchema("df_blame")
        const table = `${schema}.t`
        // checked at COMMIT, not at the INSERT: the transaction's commit fails
        yield* sql(`CREATE TABLE ${table} (id int, name text, CONSTRAINT t_id UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)`)
        yield* sql(`INSERT INTO ${table} VALUES (120, 'already there')`)
        yield* Effect.promise(() => writeFile(join(dir, "in.csv"), csv))
        yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow(table, schema, guarantee)))
        const result = yield* cli(["run", "wf.yaml", "--state-dir", "state"], { cwd: dir })
        assert.strictEqual(result.status, 3, result.stderr)
        assert.strictEqual(result.stdout, "")
        assert.match(result.stderr, /^error: node 'pg' failed: /m, result.stderr)
        assert.include(result.stderr, "23505")
        assert.notInclude(result.stderr, "node 'orders'")
      }))
  }

  it.live("a state directory that cannot be written is the file backend's failure, not a node's", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "in.csv"), csv))
      yield* Effect.promise(() => writeFile(join(dir, "blocker"), "a file where the state directory's parent should be"))
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "wf.yaml"),
          [
            "name: blame-state",
            "execution: { batch_size: 50, checkpoint_interval: 20ms }",
            "sources:",
            "  orders: { type: csv, config: { path: in.csv } }",
            "destinations:",
            "  out: { type: ndjson, inputs: [orders], config: { path: out.ndjson } }"
          ].join("\n")
        )
      )
      const result = yield* cli(["run", "wf.yaml", "--state-dir", "blocker/state"], { cwd: dir })
      assert.strictEqual(result.status, 3, result.stderr)
      assert.match(result.stderr, /^error: checkpoint state \(file backend\): /m, result.stderr)
      assert.include(result.stderr, "blocker/state")
      assert.notMatch(result.stderr, /node '/)
    }))
})

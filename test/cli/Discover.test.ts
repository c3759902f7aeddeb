/**
 * `dataflare discover` end to end, as a real process against the local PostgreSQL server (in a
 * schema of its own, dropped afterwards): prints the Schema and TypeScript type of a table;
 * `--bigint string` and `--name`; a missing table and an unreachable server exit 3 with a clear
 * message and never print the connection string's password.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { sql, URL, withSchema } from "../connectors/postgres/support.ts"
import { cli, closedPort, silentServer } from "./support.ts"

describe("dataflare discover (process)", () => {
  it.live("a server that accepts connections but never answers: exit 3 after --timeout", () =>
    Effect.gen(function*() {
      const server = yield* silentServer
      const result = yield* cli(["discover", `postgres://alice:pw@127.0.0.1:${server.port}/db`, "orders", "--timeout", "300"])
      assert.strictEqual(result.status, 3)
      assert.strictEqual(result.stderr, "error: cannot discover 'orders': the server did not answer within 300 ms\n")
    }))

  it.live("prints the Schema and type of a table's rows", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("cli_discover")
      yield* sql(
        `CREATE TABLE "${schema}".line_items (id bigint PRIMARY KEY, sku text NOT NULL, qty integer, price numeric, tags text[], shipped_at timestamptz)`
      )
      const result = yield* cli(["discover", URL, `${schema}.line_items`])
      assert.strictEqual(result.stderr, "")
      assert.strictEqual(result.status, 0)
      const out = result.stdout
      assert.include(out, `import { Schema } from "effect"`)
      assert.include(out, "export const LineItems = Schema.Struct({")
      assert.match(out, /^ {2}id: Schema\.BigInt, \/\/ bigint \(primary key\)$/m)
      assert.match(out, /^ {2}sku: Schema\.String, \/\/ text$/m)
      assert.match(out, /^ {2}qty: Schema\.NullOr\(Schema\.Int\), \/\/ integer$/m)
      assert.match(out, /^ {2}price: Schema\.NullOr\(Schema\.String.*\/\/ numeric$/m)
      assert.match(out, /^ {2}tags: Schema\.NullOr\(Schema\.Array\(Schema\.String\)\), \/\/ text\[\] \(more dimensions nest arrays/m)
      // timestamps are the server's text (microseconds and infinity kept)
      assert.match(out, /^ {2}shipped_at: Schema\.NullOr\(Schema\.String \/\* timestamptz: .*\*\/\), \/\/ timestamp with time zone$/m)
      assert.include(out, "export type LineItems = typeof LineItems.Type")
      assert.isTrue(out.endsWith("\n") && !out.endsWith("\n\n"))

      const named = yield* cli(["discover", URL, `${schema}.line_items`, "--bigint", "string", "--name", "Item"])
      assert.strictEqual(named.status, 0, named.stderr)
      assert.include(named.stdout, "export const Item = Schema.Struct({")
      assert.match(named.stdout, /^ {2}id: Schema\.String, \/\/ bigint \(primary key\)$/m)
    }))

  it.live("a missing table exits 3 with the table's name", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("cli_discover")
      const result = yield* cli(["discover", URL, `${schema}.nothing_here`])
      assert.strictEqual(result.status, 3)
      assert.strictEqual(result.stdout, "")
      assert.strictEqual(
        result.stderr,
        `error: cannot discover '${schema}.nothing_here': table '${schema}.nothing_here' does not exist\n`
      )
    }))

  it.live("an unreachable server exits 3 without printing the password", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const password = "Sup3r-s3cret-pw"
      const result = yield* cli(["discover", `postgres://alice:${password}@127.0.0.1:${port}/db`, "orders"])
      assert.strictEqual(result.status, 3)
      assert.strictEqual(result.stdout, "")
      assert.match(result.stderr, /^error: cannot discover 'orders': .*ECONNREFUSED/)
      assert.notInclude(result.stderr, password)
    }))

  it.live("missing arguments are a usage error (exit code 2)", () =>
    Effect.gen(function*() {
      const result = yield* cli(["discover", URL])
      assert.strictEqual(result.status, 2)
      assert.strictEqual(result.stdout, "")
    }))
})

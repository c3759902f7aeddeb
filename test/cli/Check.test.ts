/**
 * `dataflare check` end to end, as a real process: one line per connector, exit 0 when every
 * connection test passes, 3 when one fails (a missing CSV file, a PostgreSQL sink on a closed
 * port — without printing its password), 1 for an invalid workflow; and the secret masking.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { formatResult, maskSecrets } from "../../dsl/cli/commands/check.ts"
import { sql, URL, withSchema } from "../connectors/postgres/support.ts"
import { cli, closedPort, silentServer, tempDir } from "./support.ts"

const write = (path: string, text: string) => Effect.promise(() => writeFile(path, text))

const csvToNdjson = `name: check-files
sources:
  orders:
    type: csv
    config:
      path: \${ORDERS:-in/orders.csv}
destinations:
  out:
    type: ndjson
    inputs: [orders]
    config:
      path: out/orders.ndjson
`

const csvToPostgres = (connection: string, table: string) =>
  `name: check-postgres
sources:
  orders:
    type: csv
    config:
      path: orders.csv
destinations:
  pg:
    type: postgres
    inputs: [orders]
    config:
      connection_string: "${connection}"
      table: ${table}
`

/** The connector lines: `ok    node (type, kind)  N ms` or `error node (type, kind): why`. */
const lines = (stdout: string): ReadonlyArray<string> => stdout.split("\n").filter((l) => l !== "")

describe("dataflare check (process)", () => {
  it.live("a server that accepts connections but never answers: --timeout bounds the command, exit code 3", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* silentServer
      yield* write(join(dir, "orders.csv"), "id,amount\n1,2\n")
      yield* write(join(dir, "wf.yaml"), csvToPostgres(`postgres://alice:pw@127.0.0.1:${server.port}/db`, "orders"))
      const started = performance.now()
      const result = yield* cli(["check", "wf.yaml", "--timeout", "300"], { cwd: dir })
      assert.strictEqual(result.status, 3)
      assert.match(result.stdout + result.stderr, /no answer within 300 ms|did not finish within 2300 ms/)
      assert.isBelow(performance.now() - started, 20_000, "the command does not hang")
    }))

  it.live("prints ok with the time for every reachable connector and exits 0", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => mkdir(join(dir, "in")))
      yield* Effect.promise(() => mkdir(join(dir, "out")))
      yield* write(join(dir, "in/orders.csv"), "id,amount\n1,2\n")
      yield* write(join(dir, "wf.yaml"), csvToNdjson)
      const result = yield* cli(["check", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.stderr, "")
      assert.strictEqual(result.status, 0)
      const out = lines(result.stdout)
      assert.strictEqual(out.length, 2)
      assert.match(out[0], /^ok {4}orders \(csv, source\) {2}\d+ ms$/)
      assert.match(out[1], /^ok {4}out \(ndjson, sink\) {2}\d+ ms$/)
    }))

  it.live("a missing CSV file is an error line naming the node and the file, exit code 3", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => mkdir(join(dir, "out")))
      yield* write(join(dir, "wf.yaml"), csvToNdjson)
      const result = yield* cli(["check", "wf.yaml"], { cwd: dir, env: { ORDERS: "in/missing.csv" } })
      assert.strictEqual(result.status, 3)
      const out = lines(result.stdout)
      assert.strictEqual(out.length, 2)
      assert.match(out[0], /^error orders \(csv, source\): .*in\/missing\.csv/)
      assert.match(out[1], /^ok {4}out \(ndjson, sink\)/, "the other connectors are still checked")
      assert.strictEqual(result.stderr, "error: 1 of 2 connectors failed the connection check\n")
    }))

  it.live("a PostgreSQL sink on a closed port: an error line without the password, exit code 3", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const port = yield* closedPort
      const password = "Sup3r-s3cret-pw"
      yield* write(join(dir, "orders.csv"), "id,amount\n1,2\n")
      yield* write(join(dir, "wf.yaml"), csvToPostgres(`postgres://alice:${password}@127.0.0.1:${port}/db`, "orders"))
      const result = yield* cli(["check", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.status, 3)
      const out = lines(result.stdout)
      assert.match(out[0], /^ok {4}orders \(csv, source\)/)
      assert.match(out[1], /^error pg \(postgres, sink\): .*ECONNREFUSED/)
      assert.notInclude(result.stdout + result.stderr, password)
    }))

  it.live("a PostgreSQL sink whose table exists checks ok against the local server", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const schema = yield* withSchema("cli_check")
      yield* sql(`CREATE TABLE "${schema}".orders (id bigint, amount numeric)`)
      yield* write(join(dir, "orders.csv"), "id,amount\n1,2\n")
      yield* write(join(dir, "wf.yaml"), csvToPostgres(URL, `${schema}.orders`))
      const result = yield* cli(["check", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.stderr, "")
      assert.strictEqual(result.status, 0)
      assert.match(lines(result.stdout)[1], /^ok {4}pg \(postgres, sink\) {2}\d+ ms$/)
    }))

  it.live("an invalid workflow is reported as by validate, exit code 1, nothing checked", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "wf.yaml"), csvToNdjson.replace("type: ndjson", "type: ndjsn"))
      const result = yield* cli(["check", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.status, 1)
      assert.strictEqual(result.stdout, "")
      assert.match(result.stderr, /unknown destination type 'ndjsn'/)
      assert.match(result.stderr, /invalid: wf\.yaml \(1 problem\)/)
    }))
})

describe("check output", () => {
  it("masks passwords in URLs and key=value connection strings", () => {
    assert.strictEqual(
      maskSecrets("cannot connect to postgres://alice:p%40ss@db:5432/x: timeout"),
      "cannot connect to postgres://alice:***@db:5432/x: timeout"
    )
    assert.strictEqual(maskSecrets("host=db user=alice password=hunter2 dbname=x"), "host=db user=alice password=*** dbname=x")
    assert.strictEqual(maskSecrets("no such file: in/orders.csv"), "no such file: in/orders.csv")
    assert.strictEqual(maskSecrets("see http://example.com/a@b"), "see http://example.com/a@b")
  })

  it("formats a failed result with the masked error", () => {
    assert.strictEqual(
      formatResult({ node: "pg", kind: "sink", type: "postgres", ok: false, error: "postgres://u:pw@h/d refused", durationMs: 4 }),
      "error pg (postgres, sink): postgres://u:***@h/d refused"
    )
    assert.strictEqual(formatResult({ node: "in", kind: "source", type: "csv", ok: true, durationMs: 3 }), "ok    in (csv, source)  3 ms")
  })
})

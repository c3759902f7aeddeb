/**
 * Every `examples/*.yaml` runs through `./bin/dataflare` (validate, then run), with its input
 * files generated into a temp dir. An example without a fixture here fails the test, so a new
 * example cannot be added without being executed.
 */
import { readdirSync } from "node:fs"
import { readFile, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "./support.ts"

const examplesDir = resolve(import.meta.dirname, "../../examples")

/** An example that needs a server: validated here (no connection), run by the named test. */
interface ValidateOnly {
  readonly validateOnly: string
  readonly env?: Record<string, string>
}

interface Fixture {
  /** Environment for the run; `dir` is the temp dir (also the cwd). */
  readonly env: (dir: string) => Record<string, string>
  /** Input files to create, relative to the temp dir. */
  readonly files: Record<string, string>
  /** Checks the outputs; `stdout` is the run's summary. */
  readonly check: (dir: string, stdout: string) => Effect.Effect<void>
}

const readLines = (path: string) =>
  Effect.promise(() => readFile(path, "utf8")).pipe(
    Effect.map((text) => text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as unknown))
  )

const orderRows = Array.from({ length: 200 }, (_, i) => ({
  id: i + 1,
  customer: i % 2 === 0 ? `Ann ${i}` : `BOB ${i}`,
  status: i % 4 === 0 ? "inactive" : "active",
  amount: (i * 7) % 250,
  country: ["DE", "FR", "US"][i % 3]
}))

const eventRows = Array.from({ length: 3000 }, (_, i) => ({
  id: i,
  status: i % 3 === 0 ? "open" : "paid",
  amount: (i * 13) % 500,
  customer: `c${i % 97}`
}))

const fixtures: Record<string, Fixture | ValidateOnly> = {
  "postgres-to-postgres.yaml": { validateOnly: "test/connectors/postgres/Workflow.integration.test.ts" },
  "csv-to-postgres.yaml": { validateOnly: "test/connectors/postgres/CsvPassThrough.integration.test.ts" },
  "postgres-cdc.yaml": { validateOnly: "test/connectors/postgres (needs a server with wal_level = logical)" },
  "postgres-table-copy.yaml": { validateOnly: "test/connectors/postgres/Workflow.integration.test.ts" },
  "csv-to-new-table.yaml": {
    validateOnly: "test/connectors/postgres/StateBackendCli.integration.test.ts",
    env: { DATAFLARE_STATE: "postgres://postgres@127.0.0.1:5432/test" }
  },
  "rabbitmq-orders.yaml": {
    validateOnly: "test/connectors/rabbitmq/Example.integration.test.ts",
    env: { RABBITMQ_URL: "amqp://guest:guest@127.0.0.1:5672", MQTT_URL: "mqtt://127.0.0.1:1883" }
  },
  "rabbitmq-dead-letters.yaml": {
    validateOnly: "test/connectors/rabbitmq/DeadLettersExample.integration.test.ts",
    env: { RABBITMQ_URL: "amqp://guest:guest@127.0.0.1:5672" }
  },
  "mqtt-alerts.yaml": {
    validateOnly: "test/connectors/mqtt/Example.integration.test.ts",
    env: { RABBITMQ_URL: "amqp://guest:guest@127.0.0.1:5672", MQTT_URL: "mqtt://127.0.0.1:1883" }
  },
  "mysql-table-copy.yaml": { validateOnly: "test/connectors/mysql/Examples.integration.test.ts" },
  "mysql-cdc.yaml": { validateOnly: "test/connectors/mysql/Examples.integration.test.ts (needs a binlog-enabled server)" },
  "nats-filter.yaml": { validateOnly: "test/connectors/nats/Example.integration.test.ts" },
  "redis-streams-filter.yaml": { validateOnly: "test/connectors/redis-streams/Example.integration.test.ts" },
  "ndjson-to-elasticsearch.yaml": {
    validateOnly: "test/connectors/elasticsearch/Example.test.ts (run against the HTTP fake)",
    env: { ES_API_KEY: "example-key" }
  },
  "ndjson-to-mongodb.yaml": {
    validateOnly: "test/connectors/mongodb/Example.test.ts (run against the MongoClient-shaped fake)",
    env: { MONGODB_URL: "mongodb://localhost:27017" }
  },
  "dead-letters-to-postgres.yaml": { validateOnly: "test/runtime/DeadLetterExample.integration.test.ts" },
  "aggregate-dead-letters.yaml": { validateOnly: "test/runtime/AggregateDeadLetterExample.test.ts" },
  "worker-map-dead-letters.yaml": {
    validateOnly: "test/runtime/WorkerMapDeadLetterExample.test.ts",
    env: { PRICE_MODULE: join(examplesDir, "transforms/price.ts") }
  },
  "graph-orders.yaml": { validateOnly: "test/graph/GraphWorkflow.test.ts (generated inputs, results computed by hand)" },
  "untrusted-input.yaml": {
    env: (dir) => ({ EVENTS_NDJSON: join(dir, "events.ndjson"), OUT_NDJSON: join(dir, "unique.ndjson") }),
    files: {
      "events.ndjson": [
        '{"id":12345678901234567890,"kind":"a"}',
        '{"id":12345678901234567891,"kind":"b"}',
        '{"id":12345678901234567890,"kind":"a again"}',
        '{"id":7,"kind":"c"}',
        '{"id":7,"kind":"c again"}'
      ].join("\n") + "\n"
    },
    check: (dir) =>
      Effect.gen(function*() {
        // the big ids are kept exactly (as their digits), and deduplicated as such
        assert.deepStrictEqual(yield* readLines(join(dir, "unique.ndjson")), [
          { id: "12345678901234567890", kind: "a" },
          { id: "12345678901234567891", kind: "b" },
          { id: 7, kind: "c" }
        ])
      })
  },
  "malformed-input-dead-letters.yaml": {
    // relative paths: the run's cwd is the temp dir, and the envelopes name the files as configured
    env: () => ({}),
    files: {
      "events.ndjson": '{"id":1,"kind":"a"}\nnot json\n{"id":3,"kind":"b"}\n[4]\n',
      "payments.csv": "id,amount\n1,10\n2,ten\n3\n4,40\n"
    },
    check: (dir, stdout) =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* readLines(join(dir, "events.out.ndjson")), [{ id: 1, kind: "a" }, { id: 3, kind: "b" }])
        assert.deepStrictEqual(yield* readLines(join(dir, "payments.out.ndjson")), [{ id: 1, amount: 10 }, { id: 4, amount: 40 }])
        const letters = (file: string) =>
          Effect.map(readLines(join(dir, file)), (entries) =>
            entries.map((e) => {
              const { at: _at, ...rest } = e as { readonly at: string }
              return rest
            }))
        assert.deepStrictEqual(yield* letters("events.rejected.ndjson"), [
          { file: "events.ndjson", node: "events", line: 2, error: `invalid JSON: Unexpected token 'o', "not json" is not valid JSON`, record: "not json" },
          { file: "events.ndjson", node: "events", line: 4, error: "expected a JSON object, got an array", record: "[4]" }
        ])
        assert.deepStrictEqual(yield* letters("payments.rejected.ndjson"), [
          { file: "payments.csv", node: "payments", line: 3, column: 2, field: "amount", error: 'expected an integer, got "ten"', record: "2,ten" },
          { file: "payments.csv", node: "payments", line: 4, column: 2, field: "amount", error: "expected 2 fields, found 1", record: "3" }
        ])
        assert.include(stdout, "dead letters: 4 records set aside in all")
      })
  },
  "ndjson-to-csv.yaml": {
    env: (dir) => ({ EVENTS_NDJSON: join(dir, "events.ndjson"), PAID_CSV: join(dir, "paid.csv") }),
    files: { "events.ndjson": eventRows.map((r) => JSON.stringify(r)).join("\n") + "\n" },
    check: (dir, stdout) =>
      Effect.gen(function*() {
        const expected = eventRows.filter((r) => r.status === "paid" && r.amount >= 100).map((r) => `${r.id},${r.status},${r.amount},${r.customer}`)
        assert.isAbove(expected.length, 1000)
        const lines = (yield* Effect.promise(() => readFile(join(dir, "paid.csv"), "utf8"))).split("\n").filter((l) => l.length > 0)
        assert.strictEqual(lines[0], "id,status,amount,customer")
        // every record of a serial read; ranges interleave, so compared as sets
        assert.deepStrictEqual(lines.slice(1).sort(), [...expected].sort())
        const n = expected.length.toLocaleString("en-US")
        assert.include(stdout, `out     sink       csv          ${n}        ${n}\n`)
      })
  },
  "csv-to-ndjson.yaml": {
    env: (dir) => ({ ORDERS_CSV: join(dir, "orders.csv"), OUT_NDJSON: join(dir, "out.ndjson") }),
    files: {
      "orders.csv": "id,customer,status,amount,country\n" +
        orderRows.map((r) => `${r.id},${r.customer},${r.status},${r.amount},${r.country}`).join("\n") + "\n"
    },
    check: (dir, stdout) =>
      Effect.gen(function*() {
        const expected = orderRows
          .filter((r) => r.status === "active" && r.amount >= 100)
          .map((r) => ({ id: r.id, customer: r.customer.toLowerCase(), country: r.country.toLowerCase(), gross: r.amount * 1.2 }))
        assert.isAbove(expected.length, 50)
        assert.deepStrictEqual(yield* readLines(join(dir, "out.ndjson")), expected)
        assert.match(stdout, new RegExp(`\\nout\\s+sink\\s+ndjson\\s+${expected.length}\\s+${expected.length}\\n`))
      })
  }
}

const names = readdirSync(examplesDir).filter((f) => f.endsWith(".yaml") && !f.endsWith(".test.yaml")).sort() // *.test.yaml: tests of `dataflare test` (test/cli/Test.test.ts)

describe("examples", () => {
  it("every examples/*.yaml has a fixture", () => {
    assert.isAbove(names.length, 0)
    for (const name of names) assert.isDefined(fixtures[name], `examples/${name} has no fixture in test/cli/Examples.test.ts`)
  })

  for (const name of names) {
    const fixture = fixtures[name]
    if (fixture === undefined) continue
    it.live(
      "validateOnly" in fixture ? `${name} validates (run by ${fixture.validateOnly})` : `${name} validates and runs through the CLI`,
      () =>
        Effect.gen(function*() {
          const dir = yield* tempDir
          const file = join(examplesDir, name)
          if ("validateOnly" in fixture) {
            const validated = yield* cli(["validate", file], { cwd: dir, env: fixture.env ?? {} })
            assert.strictEqual(validated.stderr, "")
            assert.strictEqual(validated.stdout, `ok: ${file} (${validated.stdout.match(/\((\d+) nodes\)/)?.[1]} nodes)\n`)
            assert.strictEqual(validated.status, 0)
            return
          }
          for (const [path, text] of Object.entries(fixture.files)) {
            yield* Effect.promise(() => writeFile(join(dir, path), text))
          }
          const env = fixture.env(dir)
          const validated = yield* cli(["validate", file], { cwd: dir, env })
          assert.strictEqual(validated.stderr, "")
          assert.strictEqual(validated.status, 0)
          const ran = yield* cli(["run", file], { cwd: dir, env })
          assert.strictEqual(ran.stderr, "")
          assert.strictEqual(ran.status, 0)
          yield* fixture.check(dir, ran.stdout)
        })
    )
  }
})

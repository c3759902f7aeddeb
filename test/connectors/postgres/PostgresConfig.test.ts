import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { CdcConfig, SinkConfig, SourceConfig } from "../../../src/connectors/postgres/PostgresConfig.ts"
import { classify, reasonOf } from "../../../src/connectors/postgres/PostgresError.ts"
import { decodeAll } from "../../../src/internal/decode.ts"

const url = "postgres://user:s3cret@db.example:5432/app"

describe("PostgresConfig", () => {
  it("decodes the connection string into a Redacted value that never prints", () => {
    const r = decodeAll(SourceConfig, { connection_string: url, table: "t" })
    assert.isTrue(r.ok)
    if (!r.ok) return
    assert.isTrue(Redacted.isRedacted(r.value.connection_string))
    assert.strictEqual(Redacted.value(r.value.connection_string), url)
    assert.notInclude(JSON.stringify(r.value), "s3cret")
    assert.notInclude(String(r.value.connection_string), "s3cret")
  })

  it("names the key at fault", () => {
    const paths = (schema: Parameters<typeof decodeAll>[0], input: unknown) => {
      const r = decodeAll(schema, input)
      return r.ok ? [] : r.issues.map((i) => `${i.path.join(".")}: ${i.message}`)
    }
    assert.include(paths(SourceConfig, { connection_string: url })[0], "exactly one of 'table' or 'query'")
    assert.include(paths(SourceConfig, { connection_string: url, query: "select 1", incremental: { column: "c" } })[0], "incremental")
    assert.include(paths(SourceConfig, { connection_string: url, table: "t", batch_size: 0 })[0], "batch_size")
    assert.include(paths(SinkConfig, { connection_string: url, table: "t", mode: "merge" })[0], "mode")
    assert.include(paths(SinkConfig, { connection_string: url, table: "t", on_error: "dead_letter" })[0], "dead_letter")
    assert.include(paths(CdcConfig, { connection_string: url, publication: "p", slot: "Bad-Slot" })[0], "slot")
    assert.include(paths(CdcConfig, { connection_string: url, publication: "p", slot: "s", snapshot: true })[0], "tables")
    assert.include(paths(CdcConfig, { connection_string: url, publication: "p", slot: "s", heartbeat_interval: "10 s" })[0], "heartbeat_interval")
    assert.deepStrictEqual(paths(CdcConfig, { connection_string: url, publication: "p", slot: "s", heartbeat_interval: "10s" }), [])
  })
})

describe("PostgresError", () => {
  const pgError = (code: string) => Object.assign(new Error(`server says ${code}`), { code })
  it("classifies SQLSTATE codes once, into retryable and permanent reasons", () => {
    const cases: Array<[string, string, boolean]> = [
      ["08006", "ConnectionError", true],
      ["57P01", "ConnectionError", true],
      ["40001", "TransientError", true],
      ["40P01", "TransientError", true],
      ["55006", "TransientError", true],
      ["57014", "TimeoutError", true],
      ["23505", "RejectedError", false],
      ["22P02", "RejectedError", false],
      ["42P01", "ConfigurationError", false],
      ["42703", "ConfigurationError", false],
      ["3D000", "ConfigurationError", false]
    ]
    for (const [code, tag, retryable] of cases) {
      const reason = reasonOf(pgError(code))
      assert.strictEqual(reason._tag, tag, code)
      assert.strictEqual(reason.isRetryable, retryable, code)
      assert.include(reason.message, `SQLSTATE ${code}`)
    }
    // Through an @effect/sql-pg SqlError: reason → cause carries the code.
    const wrapped = { _tag: "SqlError", reason: { _tag: "UnknownError", cause: pgError("40001") } }
    assert.strictEqual(reasonOf(wrapped)._tag, "TransientError")
    assert.strictEqual(reasonOf(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))._tag, "ConnectionError")
    const error = classify("postgres", "write")(pgError("23505"))
    assert.strictEqual(error.message, "postgres write: server says 23505 (SQLSTATE 23505)")
    assert.isFalse(error.isRetryable)
  })
})

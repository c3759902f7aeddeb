/**
 * The test setup's decisions (fake probes: no server is reconfigured here) and its probe of the
 * real local PostgreSQL.
 */
import { assert, describe, it } from "@effect/vitest"
import { ensureServices, type PostgresState, postgresProblems, probeClosedPorts, probePostgres, SETUP_COMMAND } from "./ready.ts"

const ready: PostgresState = { walLevel: "logical", maxPreparedTransactions: 20 }
const fresh: PostgresState = { walLevel: "replica", maxPreparedTransactions: 0, replicationRefused: "no pg_hba.conf entry" }

/** A setup run against probes that answer `states` in turn; returns what it did. */
const simulate = async (states: ReadonlyArray<PostgresState>, setupWorks: boolean, canRun = true) => {
  const calls = { probes: 0, setups: 0, log: [] as Array<string> }
  const error = await ensureServices({
    probePostgres: async () => states[Math.min(calls.probes++, states.length - 1)],
    probePorts: async () => [],
    runSetup: canRun
      ? () => {
        calls.setups++
        return setupWorks
      }
      : undefined,
    log: (line) => calls.log.push(line)
  }).then(() => undefined, (e: unknown) => e)
  return { ...calls, error }
}

describe("test setup", () => {
  it("says what a fresh server lacks", () => {
    assert.deepStrictEqual(postgresProblems(ready), [])
    assert.deepStrictEqual(postgresProblems(fresh), [
      "wal_level is 'replica', the CDC tests need 'logical'",
      "max_prepared_transactions is 0, the sink's two_phase: prepared tests need it above 0",
      "a replication connection from 127.0.0.1 is refused (no pg_hba.conf entry); pg_hba.conf needs 'host replication all 127.0.0.1/32 trust'"
    ])
    assert.match(postgresProblems({ unreachable: "ECONNREFUSED" })[0], /does not answer on 127\.0\.0\.1:5432 \(ECONNREFUSED\)/)
  })

  it("a ready machine runs nothing; a fresh one runs scripts/services.sh once and goes on", async () => {
    const quiet = await simulate([ready], true)
    assert.strictEqual(quiet.setups, 0)
    assert.isUndefined(quiet.error)
    const setUp = await simulate([fresh, ready], true)
    assert.strictEqual(setUp.setups, 1)
    assert.isUndefined(setUp.error)
    assert.match(setUp.log[0], /^wal_level is 'replica'.*: running scripts\/services\.sh$/)
  })

  it("stops the run at once, with what is wrong and the command, when the setup cannot fix it", async () => {
    for (const result of [await simulate([fresh], false), await simulate([fresh], true, false)]) {
      assert.instanceOf(result.error, Error)
      const text = (result.error as Error).message
      assert.include(text, "max_prepared_transactions is 0")
      assert.include(text, `Run \`${SETUP_COMMAND}\``)
    }
  })

  it("the local PostgreSQL is ready, and a closed port is found", async () => {
    assert.deepStrictEqual(postgresProblems(await probePostgres("postgres://postgres@127.0.0.1:5432/postgres")), [])
    assert.deepStrictEqual(await probeClosedPorts([["PostgreSQL", 5432], ["nothing", 1]]), ["nothing"])
  })
})

/**
 * The lag of a CDC source, visible from `dataflare run`: in the progress line while it runs and in
 * the summary after a graceful stop (against the local PostgreSQL).
 */
import { spawn } from "node:child_process"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { dropSlot } from "../../src/connectors/postgres/PostgresCdc.ts"
import { sql, URL, withSchema } from "../connectors/postgres/support.ts"
import { bin, tempDir } from "./support.ts"

describe("dataflare run: CDC lag (process)", () => {
  it.live("the progress line and the summary show the replication lag", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cli_lag")
      const id = `${process.pid}_${Math.floor(Math.random() * 1e9)}`
      const slot = `df_cli_slot_${id}`
      const publication = `df_cli_pub_${id}`
      yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY)`)
      const dir = yield* tempDir
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "cdc.yaml"),
          `name: cdc-lag
sources:
  changes:
    type: postgres-cdc
    config:
      connection_string: "${URL}"
      publication: ${publication}
      create_publication: true
      slot: ${slot}
      tables: [${schema}.t]
      heartbeat_interval: 200ms
destinations:
  out: { type: ndjson, inputs: [changes], config: { path: out.ndjson } }
`
        )
      )
      const child = spawn(bin, ["run", "cdc.yaml"], {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1", DATAFLARE_PROGRESS_INTERVAL_MS: "300" }
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk) => (stdout += String(chunk)))
      child.stderr.on("data", (chunk) => (stderr += String(chunk)))
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          child.kill("SIGKILL")
          yield* Effect.promise(() => exited)
          yield* dropSlot(URL, slot).pipe(Effect.ignore)
          yield* sql(`DROP PUBLICATION IF EXISTS ${publication}`)
        })
      )
      yield* Effect.sync(() => /lag changes \d+(\.\d)? (B|kB|MB|GB)/.test(stderr)).pipe(
        Effect.filterOrFail((seen) => seen),
        Effect.retry(Schedule.spaced("200 millis")),
        Effect.timeout("40 seconds"),
        Effect.catchTag("TimeoutError", () => Effect.die(new Error(`no lag in the progress line:\n${stderr}`)))
      )
      child.kill("SIGINT")
      const code = yield* Effect.promise(() => exited)
      assert.strictEqual(code, 0, stderr)
      assert.match(stdout, /\nlag of changes: \d+(\.\d)? (B|kB|MB|GB) behind its input/, stdout + stderr)
    }).pipe(Effect.scoped), 60_000)
})

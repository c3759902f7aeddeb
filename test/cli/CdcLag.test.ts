/**
 * The lag of a CDC source, visible from `dataflare run`: in the progress line while it runs and in
 * the summary after a graceful stop (against the local PostgreSQL).
 */
import { spawn } from "node:child_process"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { cdcToNdjson } from "../connectors/postgres/cdcSupport.ts"
import { bin } from "./support.ts"

describe("dataflare run: CDC lag (process)", () => {
  it.live("the progress line and the summary show the replication lag", () =>
    Effect.gen(function*() {
      const { dir } = yield* cdcToNdjson("cdc-lag", "df_cli_lag")
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
      // (the slot and publication are dropped after it, by cdcToNdjson's scope)
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          child.kill("SIGKILL")
          yield* Effect.promise(() => exited)
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

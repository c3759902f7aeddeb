/**
 * `dataflare run --http host:port --log-format json` as a real child process: the address it
 * serves is logged as JSON on stderr, every stderr line is a JSON object, /metrics and /ready
 * answer while it runs, stdout carries the summary only; bad addresses are refused clearly.
 */
import { writeFile } from "node:fs/promises"
import { createServer } from "node:net"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../cli/support.ts"
import { eventually, get, liveWorkflow, sampleOf, scrape, servedAt, start } from "./support.ts"

describe("dataflare run --http --log-format json (process)", () => {
  it.live("serves /metrics and /ready while it runs; every stderr line is JSON; stdout has the summary only", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), liveWorkflow))
      const running = yield* start(dir, ["run", "wf.yaml", "--http", "127.0.0.1:0", "--log-format", "json"], {
        DATAFLARE_PROGRESS_INTERVAL_MS: "200"
      })
      const base = yield* servedAt(running)
      const ready = yield* eventually(Effect.flatMap(get(`${base}/ready`), (r) => (r.status === 200 ? Effect.succeed(r) : Effect.fail("not yet"))))
      assert.deepStrictEqual(JSON.parse(ready.body), { status: "ready" })
      const metrics = yield* eventually(Effect.flatMap(scrape(base), (m) =>
        sampleOf(m, "dataflare_records_out_total", { node: "out", workflow: "live" }) > 0 ? Effect.succeed(m) : Effect.fail("not yet")))
      assert.strictEqual(sampleOf(metrics, "dataflare_connector_open", { node: "gen" }), 1)
      // a progress line or two, then stop
      yield* eventually(Effect.suspend(() => (running.stderr().includes("\"records_in\"") ? Effect.void : Effect.fail("not yet"))))
      running.child.kill("SIGINT")
      const code = yield* Effect.promise(() => running.exited)
      assert.strictEqual(code, 0, running.stderr())
      const lines = running.stderr().split("\n").filter((l) => l.trim() !== "")
      assert.isAbove(lines.length, 2)
      for (const line of lines) {
        const entry = JSON.parse(line) as { time: string; level: string; message: string }
        assert.isString(entry.time)
        assert.isString(entry.level)
        assert.isString(entry.message)
      }
      const served = JSON.parse(lines[0]) as { url: string; metrics: string }
      assert.strictEqual(served.url, base)
      assert.strictEqual(served.metrics, `${base}/metrics`)
      assert.isTrue(lines.some((l) => (JSON.parse(l) as { message: string }).message.startsWith("stopping:")))
      // stdout: the summary table and the stop line, no log line
      assert.match(running.stdout(), /^node\s+kind\s+type\s+records in\s+records out/)
      assert.notInclude(running.stdout(), "{\"time\"")
      assert.include(running.stdout(), "live: stopped at checkpoint")
    }), { timeout: 90_000 })

  it.live("text logs by default: the address line on stderr", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), liveWorkflow))
      const running = yield* start(dir, ["run", "wf.yaml", "--http", "127.0.0.1:0"])
      const base = yield* servedAt(running)
      assert.match(running.stderr(), /^info: serving http:\/\/127\.0\.0\.1:\d+\/ — dashboard/m)
      const ping = yield* get(`${base}/ping`)
      assert.strictEqual(ping.status, 200)
      running.child.kill("SIGINT")
      assert.strictEqual(yield* Effect.promise(() => running.exited), 0)
    }), { timeout: 90_000 })

  it.live("a malformed --http is a usage error (exit 2); an address in use fails the run before it starts (exit 3), naming it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), liveWorkflow))
      const bad = yield* cli(["run", "wf.yaml", "--http", "localhost:http"], { cwd: dir })
      assert.strictEqual(bad.status, 2)
      assert.include(bad.stderr, "--http takes host:port")
      const busy = yield* Effect.acquireRelease(
        Effect.promise(() =>
          new Promise<{ port: number; close: () => void }>((resolve) => {
            const server = createServer()
            server.listen(0, "127.0.0.1", () => {
              const address = server.address()
              resolve({ port: typeof address === "object" && address !== null ? address.port : 0, close: () => server.close() })
            })
          })
        ),
        (s) => Effect.sync(s.close)
      )
      const taken = yield* cli(["run", "wf.yaml", "--http", `127.0.0.1:${busy.port}`, "--log-format", "json"], { cwd: dir })
      assert.strictEqual(taken.status, 3, taken.stderr)
      const error = JSON.parse(taken.stderr.trim().split("\n").at(-1)!) as { level: string; message: string }
      assert.strictEqual(error.level, "error")
      assert.include(error.message, `http 127.0.0.1:${busy.port}`)
      assert.include(error.message, "in use")
      assert.strictEqual(taken.stdout, "")
    }), { timeout: 90_000 })
})

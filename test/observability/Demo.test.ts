/**
 * The README's demo (`npm start`, examples/demo.ts) as a user runs it, in a real Node process:
 * it prints where to watch it — dashboard, metrics, health, `dataflare top` — before the run, and
 * those addresses answer: `/metrics` (read by the independent Prometheus parser) counts what the
 * printed summary says, `/` is the dashboard, `/ready` says no workflow is running. With `--hold` the
 * server stays up after the run until Ctrl-C, which ends the process.
 */
import { spawn } from "node:child_process"
import { resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { get, sampleOf, scrape } from "./support.ts"

const root = resolve(import.meta.dirname, "../..")
const node = resolve(root, "node_modules/.bin/node")

describe("the README demo", () => {
  it.live("prints where to look while it runs, and there the numbers of the run are served", () =>
    Effect.gen(function*() {
      const held = yield* Deferred.make<string>()
      const exited = yield* Deferred.make<number | string>()
      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn(node, ["--conditions=dataflare-source", "--no-warnings", "examples/demo.ts", "50000", "--hold"], {
            cwd: root,
            env: { ...process.env, NO_COLOR: "1" },
            stdio: ["ignore", "pipe", "pipe"]
          })
        ),
        (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
      )
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString()
        if (stdout.includes("the dashboard stays up")) Deferred.doneUnsafe(held, Effect.succeed(stdout))
      })
      child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
      child.on("exit", (code, signal) => Deferred.doneUnsafe(exited, Effect.succeed(code ?? signal ?? -1)))
      const early = yield* Effect.raceFirst(
        Deferred.await(held),
        Effect.flatMap(Deferred.await(exited), (code) => Effect.succeed(`exited early (${code}): ${stdout}${stderr}`))
      )
      assert.include(early, "the dashboard stays up", early)
      const lines = stdout.split("\n")
      const watch = lines.indexOf("watch it while it runs:")
      const summaryAt = lines.findIndex((l) => l.startsWith("workflow 'demo' finished"))
      assert.isAtLeast(watch, 0, stdout)
      assert.isAbove(summaryAt, watch, "where to look is printed before the run ends")
      const dashboard = /^ {2}dashboard {2}(http:\/\/127\.0\.0\.1:\d+)\/$/.exec(lines[watch + 1])
      assert.isNotNull(dashboard, lines[watch + 1])
      const base = (dashboard as RegExpExecArray)[1]
      assert.strictEqual(lines[watch + 2], `  metrics    ${base}/metrics   (health: ${base}/ready)`)
      assert.strictEqual(lines[watch + 3], `  terminal   ./bin/dataflare top ${base}`)

      const out = lines.find((l) => l.startsWith("out "))
      assert.isDefined(out, stdout)
      const written = Number((out as string).trim().split(/\s+/).pop())
      assert.isAbove(written, 0)
      const families = yield* scrape(base)
      assert.strictEqual(sampleOf(families, "dataflare_records_out_total", { workflow: "demo", node: "out" }), written)
      assert.strictEqual(sampleOf(families, "dataflare_records_in_total", { workflow: "demo", node: "active" }), 50_000)
      const page = yield* get(`${base}/`)
      assert.strictEqual(page.status, 200)
      assert.include(page.body, "<html")
      const ready = yield* get(`${base}/ready`)
      assert.strictEqual(ready.status, 503)
      assert.deepStrictEqual(JSON.parse(ready.body), { status: "not ready", waiting: [{ reason: "no workflow is running" }] })

      child.kill("SIGINT")
      const code = yield* Deferred.await(exited)
      assert.include([0, 130, "SIGINT"], code, stderr)
    }), 180_000)
})

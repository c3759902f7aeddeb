/**
 * `dataflare top` in a real terminal: tmux runs it in a detached 120×30 pane (its own tmux
 * server socket, so no other tmux is touched) against a `dataflare run --http` child process; the
 * pane's text is captured and read like a user would.
 */
import { execFile } from "node:child_process"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { bin, tempDir } from "../cli/support.ts"
import { requireTool, servedAt, start } from "./support.ts"

const workflow = `name: topped
execution: { batch_size: 100, checkpoint_interval: "300ms" }
sources:
  gen: { type: generator, config: { count: 1000000000, rate: 4000 } }
transformations:
  keep: { type: filter, inputs: [gen], config: { condition: "id % 2 == 0" } }
destinations:
  out: { type: ndjson, inputs: [keep], config: { path: out.ndjson } }
`

const tmux = (socket: string, args: ReadonlyArray<string>): Effect.Effect<{ readonly code: number; readonly stdout: string }> =>
  Effect.callback((resume) => {
    execFile("tmux", ["-L", socket, ...args], { timeout: 10_000 }, (error, stdout) => {
      resume(Effect.succeed({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout: String(stdout) }))
    })
  })

/** The numbers of a node's row: IN/s, OUT/s, IN, OUT (thousands separators removed). */
const rowOf = (pane: string, node: string) => {
  const line = pane.split("\n").find((l) => l.startsWith(`${node} `))
  if (line === undefined) return undefined
  const cells = line.trim().split(/\s{2,}/)
  const n = (s: string | undefined) => Number((s ?? "").replaceAll(",", ""))
  return { line, type: cells[1], rateIn: n(cells[3]), rateOut: n(cells[4]), recordsIn: n(cells[5]), recordsOut: n(cells[6]) }
}

describe("dataflare top (tmux)", () => {
  it.live("shows every node with rates, totals and queue fill, refreshes every second, and quits on Ctrl-C", () =>
    Effect.gen(function*() {
      yield* requireTool("tmux", "tmux")
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow))
      const running = yield* start(dir, ["run", "wf.yaml", "--http", "127.0.0.1:0"])
      const base = yield* servedAt(running)
      const socket = `df-top-${process.pid}-${Math.random().toString(36).slice(2)}`
      yield* Effect.addFinalizer(() => Effect.asVoid(tmux(socket, ["kill-server"])))
      const created = yield* tmux(socket, ["new-session", "-d", "-s", "top", "-x", "120", "-y", "30", `${bin} top ${base}`])
      assert.strictEqual(created.code, 0)
      const capture = Effect.map(tmux(socket, ["capture-pane", "-p", "-t", "top"]), (r) => r.stdout)
      // a frame with rates (the second scrape onwards) and records written
      const first = yield* capture.pipe(
        Effect.filterOrFail((pane) => {
          const out = rowOf(pane, "out")
          return out !== undefined && out.recordsOut > 0 && Number.isFinite(out.rateIn)
        }),
        Effect.retry(Schedule.spaced("200 millis"))
      )
      assert.include(first, `dataflare top — ${base}`)
      assert.match(first, /^workflow topped: ready {2}checkpoints \d+/m)
      assert.match(first, /^NODE\s+TYPE\s+INST\s+IN\/s\s+OUT\/s\s+IN\s+OUT\s+ERRORS\s+DEAD\s+QUEUE\s+LAG$/m)
      for (const node of ["gen", "keep", "out"]) assert.isDefined(rowOf(first, node), `${node} in:\n${first}`)
      assert.strictEqual(rowOf(first, "keep")?.type, "filter")
      assert.isAbove(rowOf(first, "gen")!.rateOut, 0)
      // the sink reads a channel: its fill is drawn as a bar with the capacity (4 batches by default)
      assert.match(rowOf(first, "out")!.line, /\[[# ]{8}\] \d\/4/)
      // a second later the totals have moved
      const before = rowOf(first, "out")!.recordsOut
      const later = yield* capture.pipe(
        Effect.filterOrFail((pane) => (rowOf(pane, "out")?.recordsOut ?? 0) > before),
        Effect.retry(Schedule.spaced("200 millis"))
      )
      assert.isAbove(rowOf(later, "gen")!.recordsOut, rowOf(first, "gen")!.recordsOut)
      // Ctrl-C quits top: the pane's only process ends, and with it the session
      yield* tmux(socket, ["send-keys", "-t", "top", "C-c"])
      yield* tmux(socket, ["has-session", "-t", "top"]).pipe(
        Effect.filterOrFail((r) => r.code !== 0),
        Effect.retry(Schedule.spaced("100 millis"))
      )
      running.child.kill("SIGINT")
      assert.strictEqual(yield* Effect.promise(() => running.exited), 0)
    }), { timeout: 120_000 })

  it.live("--once prints one frame; an endpoint that does not answer says so", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow))
      const running = yield* start(dir, ["run", "wf.yaml", "--http", "127.0.0.1:0"])
      const base = yield* servedAt(running)
      const frame = yield* Effect.promise(() =>
        new Promise<string>((resolve) => execFile(bin, ["top", base.replace("http://", ""), "--once"], (_, stdout) => resolve(String(stdout))))
      )
      assert.isDefined(rowOf(frame, "keep"), frame)
      running.child.kill("SIGINT")
      yield* Effect.promise(() => running.exited)
      const down = yield* Effect.promise(() =>
        new Promise<{ code: number; stdout: string }>((resolve) =>
          execFile(bin, ["top", base, "--once"], (error, stdout) => resolve({ code: error === null ? 0 : 1, stdout: String(stdout) }))
        )
      )
      assert.strictEqual(down.code, 0)
      assert.include(down.stdout, `cannot read ${base}/metrics`)
    }), { timeout: 120_000 })
})

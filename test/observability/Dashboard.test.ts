/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * served by `dataflare run --http` (a child process) for a running fan-out workflow, it loads with
 * no console error and no failed request, shows every node of the plan and every edge, the
 * throughput numbers move, the queue fill is drawn, and checkpoints are listed.
 *
 * `DATAFLARE_SCREENSHOT=docs/observability.png` also saves a screenshot there (how the one in
 * docs/ was made).
 */
import { writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { type Browser, chromium } from "playwright-core"
import { tempDir } from "../cli/support.ts"
import { requireTool, servedAt, start } from "./support.ts"

const CHROMIUM = "/usr/bin/chromium"

const workflow = `name: orders-live
execution: { batch_size: 100, checkpoint_interval: "500ms" }
sources:
  orders: { type: generator, config: { count: 1000000000, rate: 6000, fields: { status: "active" } } }
transformations:
  active: { type: filter, inputs: [orders], config: { condition: "id % 3 != 0" } }
  reshape: { type: map, inputs: [active], config: { fields: { gross: "id * 1.19" } } }
  large: { type: filter, inputs: [orders], config: { condition: "id % 10 == 0" } }
destinations:
  out: { type: ndjson, inputs: [reshape], config: { path: out.ndjson } }
  audit: { type: collect, inputs: [large], config: {} }
`

/** Chromium with the flags this machine needs (playwright gives it a fresh temporary profile). */
const browser = Effect.acquireRelease(
  Effect.promise(() =>
    chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync"
      ]
    })
  ),
  (b: Browser) => Effect.promise(() => b.close())
)

describe("the dashboard (headless Chromium)", () => {
  it.live("loads with no console error, shows every node and edge, throughput moves, queue fill and checkpoints are drawn", () =>
    Effect.gen(function*() {
      yield* requireTool(CHROMIUM, "chromium")
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow))
      const running = yield* start(dir, ["run", "wf.yaml", "--http", "127.0.0.1:0"])
      const base = yield* servedAt(running)
      const b = yield* browser
      const page = yield* Effect.promise(() => b.newPage({ viewport: { width: 1280, height: 1000 } }))
      const problems: Array<string> = []
      page.on("console", (message) => {
        if (message.type() === "error" || message.type() === "warning") problems.push(`${message.type()}: ${message.text()}`)
      })
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
      page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`))
      page.on("response", (response) => {
        if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`)
      })
      // no request leaves the machine: the page and everything it loads come from the server
      const origins = new Set<string>()
      page.on("request", (request) => origins.add(new URL(request.url()).origin))
      yield* Effect.promise(() => page.goto(`${base}/`, { waitUntil: "load" }))

      // every node of the plan, and every edge
      const nodes = ["orders", "active", "reshape", "large", "out", "audit"]
      yield* Effect.promise(() => page.waitForSelector(`#graph g.node[data-node="audit"]`))
      const drawn = yield* Effect.promise(() => page.$$eval("#graph g.node", (gs) => gs.map((g) => g.getAttribute("data-node"))))
      assert.deepStrictEqual([...drawn].sort(), [...nodes].sort())
      const edges = yield* Effect.promise(() => page.$$eval("#graph path.edge", (ps) => ps.map((p) => p.getAttribute("data-edge"))))
      assert.deepStrictEqual(
        [...edges].sort(),
        ["active->reshape", "large->audit", "orders->active", "orders->large", "reshape->out"].sort()
      )
      // active → reshape is one fused task: outlined as a chain
      assert.strictEqual(yield* Effect.promise(() => page.$$eval("#graph rect.chain", (rs) => rs.length)), 1)
      // the nodes table has a row per node
      const rows = yield* Effect.promise(() => page.$$eval("#nodes tr[data-node]", (trs) => trs.map((t) => t.getAttribute("data-node"))))
      assert.deepStrictEqual([...rows].sort(), [...nodes].sort())

      // the throughput numbers move: the sink's written total grows between two refreshes
      const written = Effect.promise(() => page.$eval(`#nodes tr[data-node="out"] td.out`, (td) => Number((td.textContent ?? "").replaceAll(",", ""))))
      const first = yield* written.pipe(Effect.filterOrFail((n) => n > 0), Effect.retry(Schedule.spaced("200 millis")))
      yield* written.pipe(Effect.filterOrFail((n) => n > first), Effect.retry(Schedule.spaced("200 millis")))
      // a rate is shown once two samples exist, and the chart of each node is drawn
      yield* Effect.promise(() => page.$eval(`#nodes tr[data-node="orders"] td.rate`, (td) => td.textContent ?? "")).pipe(
        Effect.filterOrFail((text) => Number(text.replaceAll(",", "")) > 0),
        Effect.retry(Schedule.spaced("200 millis"))
      )
      const charts = yield* Effect.promise(() => page.$$eval("#throughput .chart", (cs) => cs.map((c) => c.getAttribute("data-chart"))))
      assert.deepStrictEqual([...charts].sort(), [...nodes].sort())
      // queue fill: the channels in front of active, large and the sinks
      const bars = yield* Effect.promise(() => page.$$eval("#graph rect.qbar", (rs) => rs.map((r) => Number(r.getAttribute("data-fill")))))
      assert.isAtLeast(bars.length, 4)
      assert.isTrue(bars.every((f) => f >= 0 && f <= 1))
      // checkpoints: some completed, listed with the last one's id
      yield* Effect.promise(() => page.$eval("#checkpoints", (e) => e.textContent ?? "")).pipe(
        Effect.filterOrFail((text) => /#\d+ · .* agolast checkpoint/.test(text)),
        Effect.retry(Schedule.spaced("200 millis"))
      )
      assert.include(yield* Effect.promise(() => page.$eval("#run-status", (e) => e.textContent ?? "")), "ready")

      const screenshot = process.env.DATAFLARE_SCREENSHOT
      const path = screenshot !== undefined && screenshot !== "" ? resolve(screenshot) : join(dir, "dashboard.png")
      yield* Effect.promise(() => page.screenshot({ path, fullPage: true }))
      assert.deepStrictEqual(problems, [])
      assert.deepStrictEqual([...origins], [base])
      running.child.kill("SIGINT")
      assert.strictEqual(yield* Effect.promise(() => running.exited), 0)
    }), { timeout: 120_000 })
})

/**
 * Every `examples/dsl-*.ts` runs as a real Node 22 process and prints what it should. Examples
 * import `dataflare` and `dataflare/dsl` as a user does; `--conditions=dataflare-source` resolves
 * them to the sources (package.json `exports`) instead of the build. An example
 * without a fixture here fails the test, so a DSL example cannot be added without being executed.
 */
import { execFile } from "node:child_process"
import { readdir } from "node:fs/promises"
import { resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const root = resolve(import.meta.dirname, "../..")
const node = resolve(root, "node_modules/.bin/node")

interface Result {
  readonly status: number
  readonly stdout: string
  readonly stderr: string
}

const runExample = (file: string, args: ReadonlyArray<string>): Effect.Effect<Result> =>
  Effect.callback<Result>((resume) => {
    execFile(node, ["--conditions=dataflare-source", file, ...args], { cwd: root, env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === "number" ? error.code : -1
      resume(Effect.succeed({ status, stdout: String(stdout), stderr: String(stderr) }))
    })
  })

interface Fixture {
  readonly args: ReadonlyArray<string>
  readonly check: (stdout: string) => void
}

const fixtures: Record<string, Fixture> = {
  "dsl-http-stream.ts": {
    args: ["2000"],
    check: (stdout) => {
      // The example's orders, filtered independently: active (id not a multiple of 5), amount >= 400.
      const expected: Array<unknown> = []
      for (let i = 1; i <= 2000; i++) {
        const amount = (i * 37) % 500
        if (i % 5 !== 0 && amount >= 400) expected.push({ id: i, customer: `customer ${i % 97}`, amount })
      }
      assert.isAbove(expected.length, 100)
      assert.include(stdout, "GET /large-orders?min=400: 200 application/x-ndjson\n")
      assert.include(stdout, `${expected.length} records streamed\n`)
      const first = /first record: (.*)\n/.exec(stdout)
      assert.isNotNull(first)
      if (first !== null) assert.deepStrictEqual(JSON.parse(first[1]), expected[0])
    }
  },
  "dsl-queue-to-postgres.ts": {
    args: ["3000"],
    check: (stdout) => {
      // The app's orders, filtered and converted independently: amount (i % 200) / 4, none when i % 10 == 0.
      let rows = 0
      let cents = 0
      for (let i = 1; i <= 3000; i++) {
        const amount = i % 10 === 0 ? 0 : (i % 200) / 4
        if (amount > 0) {
          rows++
          cents += Math.round(amount * 100)
        }
      }
      assert.match(stdout, new RegExp(`workflow queue-to-postgres: 3000 orders offered, ${rows} rows in queue_example_\\d+\\.orders\n`))
      assert.include(stdout, `total: ${cents} cents\n`)
      assert.include(stdout, `  db         sink      in ${rows} out ${rows}\n`)
    }
  },
  "dsl-connector.ts": {
    args: ["300"],
    check: (stdout) => {
      assert.strictEqual(
        stdout,
        [
          "stateless: even (filter), parallelism 3",
          "sink: out (jsonl-append), parallelism 1",
          "ran: 300 records read, 150 lines in out.jsonl",
          "refused: nodes.b.config.path: the file '<dir>/./twice.jsonl' is '<dir>/twice.jsonl', also written by destination 'a': two writers of one file lose each other's records; give each its own file",
          "twice.jsonl written: false",
          ""
        ].join("\n")
      )
    }
  },
  "dsl-observability.ts": {
    args: ["1000"],
    check: (stdout) => {
      assert.match(stdout, /^serving http:\/\/127\.0\.0\.1:\d+\/ \(dashboard\)/m)
      assert.include(stdout, 'while it runs, GET /ready: 200 {"status":"ready"}\n')
      assert.include(stdout, "observed: done, 500 records written\n")
      // the metrics, read over HTTP after the run: every record counted on every node
      assert.include(stdout, 'dataflare_records_out_total{workflow="observed",node="orders",type="generator",instance="0"} 1000\n')
      assert.include(stdout, 'dataflare_records_in_total{workflow="observed",node="even",type="filter",instance="0"} 1000\n')
      assert.include(stdout, 'dataflare_records_out_total{workflow="observed",node="out",type="collect",instance="0"} 500\n')
      assert.match(stdout, /after it, GET \/ready: 503 .*no workflow is running/)
    }
  },
  "dsl-typed-errors.ts": {
    args: ["1000"],
    check: (stdout) => {
      // 20 orders have amount "n/a" (dead-lettered by the expression filter); every other one is
      // either priced or in a batch the service rejected — none lost, none twice.
      assert.include(stdout, "workflow dsl-typed-errors: 1000 orders read\n")
      assert.include(stdout, "dead letters: 20 (positive: RecordError)\n")
      const m = /priced: (\d+) written, (\d+) rejected, 2 timeouts retried\n/.exec(stdout)
      assert.isNotNull(m)
      if (m !== null) {
        assert.strictEqual(Number(m[1]) + Number(m[2]), 980)
        assert.isAbove(Number(m[1]), 0)
        assert.isAbove(Number(m[2]), 0)
      }
    }
  },
  "dsl-quickstart.ts": {
    args: ["300"],
    check: (stdout) => {
      // The example's rows, filtered independently: active (id not a multiple of 5), amount >= 250.
      const countries = ["DE", "FR", "US", "JP"]
      const expected: Array<unknown> = []
      for (let i = 1; i <= 300; i++) {
        const amount = (i * 37) % 500
        if (i % 5 !== 0 && amount >= 250) {
          expected.push({ id: i, customer: `customer ${i % 97}`, country: countries[i % 4], gross: amount * 1.2 })
        }
      }
      assert.isAbove(expected.length, 50)
      assert.match(stdout, new RegExp(`workflow dsl-quickstart: 300 records read, ${expected.length} written in \\d+ ms`))
      assert.match(stdout, /\n {2}orders {5}source {4}csv {5}in 0 out 300\n/)
      assert.match(stdout, new RegExp(`\\n {2}out {8}sink {6}ndjson {2}in ${expected.length} out ${expected.length}\\n`))
      const first = /first record: (.*)\n/.exec(stdout)
      assert.isNotNull(first)
      if (first !== null) assert.deepStrictEqual(JSON.parse(first[1]), expected[0])
    }
  },
  "dsl-graph.ts": {
    args: ["300"],
    check: (stdout) => {
      // The example's orders, aggregated independently: per channel and UTC hour, every 100th web
      // order (3 days late) to the side output, large = amount >= 400 over all orders.
      const hour = (ms: number) => Math.floor(ms / 3_600_000)
      const base = Date.UTC(2026, 0, 1)
      const groups = new Set<string>()
      let late = 0
      let large = 0
      let firstStore = { orders: 0, revenue: 0 }
      for (let i = 0; i < 300; i++) {
        const webAmount = (i * 37) % 500
        const storeAmount = (i * 53) % 500
        if (i % 100 === 99) late++
        else groups.add(`web ${hour(base + i * 100_000)}`)
        const storeAt = base + i * 100_000 + 50_000
        groups.add(`store ${hour(storeAt)}`)
        if (hour(storeAt) === hour(base)) {
          firstStore = { orders: firstStore.orders + 1, revenue: firstStore.revenue + storeAmount }
        }
        if (webAmount >= 400) large++
        if (storeAmount >= 400) large++
      }
      assert.strictEqual(late, 3)
      assert.match(stdout, /workflow dsl-graph: 600 orders read\n/)
      assert.include(stdout, `hourly rows: ${groups.size}, late orders: ${late}, large orders: ${large}\n`)
      assert.match(stdout, /\n {2}orders {5}processor map {7}in 600 out 600\n/)
      const first = /first hourly row: (.*)\n/.exec(stdout)
      assert.isNotNull(first)
      if (first !== null) {
        assert.deepStrictEqual(JSON.parse(first[1]), {
          channel: "store",
          window_start: new Date(base).toISOString(),
          window_end: new Date(base + 3_600_000).toISOString(),
          ...firstStore
        })
      }
    }
  },
  "dsl-stop-resume.ts": {
    args: ["60000"],
    check: (stdout) => {
      const first = /first run: stopped at checkpoint (\d+) after (\d+) of 60000 events/.exec(stdout)
      assert.isNotNull(first, stdout)
      const read = Number(first![2])
      assert.isAbove(read, 0)
      assert.isBelow(read, 60000)
      const second = /second run: resumed from checkpoint (\d+) with 3 instances, read (\d+) events/.exec(stdout)
      assert.isNotNull(second, stdout)
      assert.strictEqual(second![1], first![1])
      assert.strictEqual(read + Number(second![2]), 60000)
      // 50 sensors × 6 windows of 10 s
      assert.match(stdout, /windows: 300; equal to an uninterrupted run: true/)
      assert.match(stdout, /changed window: RestoreError: node 'per_sensor' cannot resume .*window: .*"size":10000.* → .*"size":20000/)
    }
  },
  "dsl-node-test.ts": {
    args: [],
    check: (stdout) => {
      // node:test's TAP report: the pipeline test and the four source conformance cases
      assert.include(stdout, "ok 1 - the squares of the odd numbers reach the sink\n")
      assert.include(stdout, "ok 4 - Counter: the end stays the end\n")
      assert.include(stdout, "ok 5 - Counter: a pipeline slower than the source: the reader holds at most its read-ahead bound and nothing is lost\n")
      assert.include(stdout, "\n# pass 5\n# fail 0\n")
    }
  },
  "dsl-custom-connector.ts": {
    args: ["25"],
    check: (stdout) => {
      const evens = Array.from({ length: 12 }, (_, i) => `n={"n":${2 * (i + 1)}}`)
      assert.strictEqual(stdout, `${evens.join("\n")}\nworkflow dsl-custom-connector: 12 records printed\n`)
    }
  }
}

describe("DSL examples", () => {
  it.live("every examples/dsl-*.ts runs and prints the expected result", () =>
    Effect.gen(function*() {
      const names = (yield* Effect.promise(() => readdir(resolve(root, "examples"))))
        .filter((f) => f.startsWith("dsl-") && f.endsWith(".ts"))
        .sort()
      assert.isAbove(names.length, 0)
      for (const name of names) {
        const fixture = fixtures[name]
        assert.isDefined(fixture, `examples/${name} has no fixture in test/dsl/Examples.test.ts`)
        const result = yield* runExample(resolve(root, "examples", name), fixture.args)
        assert.strictEqual(result.stderr, "", name)
        assert.strictEqual(result.status, 0, name)
        fixture.check(result.stdout)
      }
    }), { timeout: 240_000 }) // every example one after the other: about a minute on a quiet machine
})

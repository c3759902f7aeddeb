/**
 * Data safety outside the crash path (issue 12), from the CLI as a user meets it, with real
 * `dataflare run` processes:
 * - SIGTERM mid-run checkpoints every operator as it is; the rerun resumes, and the output of an
 *   aggregate (without a window, or with one) equals an uninterrupted run's;
 * - with `--drain`, SIGTERM ends the inputs instead: the aggregate emits its totals, the run
 *   completes, and a rerun continues after what was read (nothing lost, nothing counted twice);
 * - a stateful node changed in a way its state cannot follow is refused before anything is
 *   written; a parallelism change resumes exactly (key groups); `--drop-state` starts that node
 *   over while the source resumes;
 * - a second instance of a running workflow is refused before it opens anything, naming the
 *   process that holds the state, and the first run's output is untouched;
 * - a replaced input file is refused before anything is opened; an appended one resumes; a
 *   rerun of a completed run says so;
 * - a checkpoint file whose offset was edited is detected by its checksum and not followed: the
 *   older checkpoint is restored, with a warning, and the output holds every record once.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { appendFile, readdir, readFile, stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule, type Scope } from "effect"
import { bin, cli, tempDir } from "./support.ts"

/** A running `dataflare` process, killed with the scope if it still runs. */
const start = (dir: string, args: ReadonlyArray<string>): Effect.Effect<
  { readonly child: ChildProcess; readonly exited: Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }> },
  never,
  Scope.Scope
> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(bin, [...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } })
      let stdout = ""
      let stderr = ""
      child.stdout!.on("data", (chunk) => (stdout += String(chunk)))
      child.stderr!.on("data", (chunk) => (stderr += String(chunk)))
      const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
        child.on("exit", (code) => resolve({ code, stdout, stderr }))
      )
      return { child, exited }
    }),
    ({ child }) => Effect.sync(() => void child.kill("SIGKILL"))
  )

/** Waits until `check` holds (polled; bounded by a generous timeout for a loaded machine). */
const until = (check: () => Promise<boolean>) =>
  Effect.promise(() => check().catch(() => false)).pipe(
    Effect.filterOrFail((ok) => ok),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeout("60 seconds"),
    Effect.orDie
  )

const hasCheckpoint = (dir: string) => async () => (await readdir(dir)).some((f) => /^chk-\d+\.json$/.test(f))

const lines = (text: string) => text.split("\n").filter((l) => l.length > 0)

/** A generator keyed into 8 groups, then an aggregate (`window` optional) into an ndjson file. */
const aggregateWorkflow = (name: string, window: string) => `name: ${name}
execution:
  batch_size: 20
  checkpoint_interval: 20ms
sources:
  numbers: { type: generator, config: { count: 200000 } }
transformations:
  keyed: { type: map, inputs: [numbers], config: { fields: { id: "id", g: "id % 8" } } }
  totals:
    type: aggregate
    inputs: [keyed]
    config:
      group_by: [g]
${window}      aggregates: { n: { op: count }, s: { op: sum, field: id } }
destinations:
  out: { type: ndjson, inputs: [totals], config: { path: out.ndjson } }
`

describe("dataflare run: graceful stop of stateful operators (process)", () => {
  for (
    const [what, window] of [
      ["an aggregate without a window", ""],
      ["a tumbling window", "      time_field: id\n      window: { type: tumbling, size: 25000 }\n      window_format: epoch_ms\n"]
    ] as const
  ) {
    it.live(`SIGTERM mid-run, rerun: ${what} gives the output of an uninterrupted run`, () =>
      Effect.gen(function*() {
        const whole = yield* tempDir
        const stopped = yield* tempDir
        const yaml = aggregateWorkflow("stop-aggregate", window)
        yield* Effect.promise(() => Promise.all([writeFile(join(whole, "wf.yaml"), yaml), writeFile(join(stopped, "wf.yaml"), yaml)]))
        const full = yield* cli(["run", "wf.yaml", "--quiet"], { cwd: whole })
        assert.strictEqual(full.status, 0, full.stderr)
        const expected = lines(yield* Effect.promise(() => readFile(join(whole, "out.ndjson"), "utf8"))).sort()
        assert.strictEqual(expected.length, window === "" ? 8 : 64)

        const run = yield* start(stopped, ["run", "wf.yaml"])
        yield* until(hasCheckpoint(join(stopped, ".dataflare", "stop-aggregate")))
        run.child.kill("SIGTERM")
        const first = yield* Effect.promise(() => run.exited)
        assert.strictEqual(first.code, 0, first.stderr)
        assert.match(first.stdout, /stopped at checkpoint \d+; run it again to resume from there/)
        assert.match(first.stderr, /stopping: taking a checkpoint where the run is/)

        const rerun = yield* cli(["run", "wf.yaml"], { cwd: stopped })
        assert.strictEqual(rerun.status, 0, rerun.stderr)
        const got = lines(yield* Effect.promise(() => readFile(join(stopped, "out.ndjson"), "utf8"))).sort()
        assert.deepStrictEqual(got, expected)
      }))
  }
})

describe("dataflare run --drain (process)", () => {
  it.live("SIGTERM drains: the aggregate emits its totals and the run completes; a rerun continues after what was read", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const state = join(dir, ".dataflare", "drain")
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), aggregateWorkflow("drain", "").replace("count: 200000", "count: 1000000000")))
      const checkpoints = () => readdir(state).then((fs) => fs.filter((f) => /^chk-\d+\.json$/.test(f)).sort(), () => [] as Array<string>)
      /** Runs with --drain until a checkpoint newer than `after` exists, then sends SIGTERM; the records read. */
      const drainOnce = (after: string | undefined) =>
        Effect.gen(function*() {
          const run = yield* start(dir, ["run", "wf.yaml", "--drain"])
          yield* until(async () => ((await checkpoints()).at(-1) ?? "") > (after ?? ""))
          run.child.kill("SIGTERM")
          const done = yield* Effect.promise(() => run.exited)
          assert.strictEqual(done.code, 0, done.stderr)
          assert.match(done.stderr, /stopping: draining/)
          assert.notMatch(done.stdout, /stopped at checkpoint/)
          const read = /\nnumbers\s+source\s+generator\s+0\s+([\d,]+)\n/.exec(done.stdout)
          assert.isNotNull(read, done.stdout)
          return Number(read![1].replaceAll(",", ""))
        })
      const totals = () =>
        Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8")).pipe(
          Effect.map((text) => lines(text).map((l) => JSON.parse(l) as { readonly g: number; readonly n: number; readonly s: number }))
        )
      /** The sums of `count` and `sum(id)` over rows: ids 0..n-1 each counted once give n and n(n-1)/2. */
      const sums = (rows: ReadonlyArray<{ readonly n: number; readonly s: number }>) =>
        rows.reduce((acc, r) => ({ n: acc.n + r.n, s: acc.s + r.s }), { n: 0, s: 0 })

      const first = yield* drainOnce(undefined)
      const drained = yield* totals()
      // every group's total was emitted because of the drain: all 8, covering each record read once
      assert.deepStrictEqual(drained.map((r) => r.g).sort(), [0, 1, 2, 3, 4, 5, 6, 7])
      assert.deepStrictEqual(sums(drained), { n: first, s: (first * (first - 1)) / 2 })

      const second = yield* drainOnce((yield* Effect.promise(checkpoints)).at(-1))
      const all = yield* totals()
      assert.strictEqual(all.length, 16)
      const total = first + second
      assert.deepStrictEqual(sums(all), { n: total, s: (total * (total - 1)) / 2 })
    }))
})

describe("dataflare run: stateful nodes changed between runs (process)", () => {
  const window = "      time_field: id\n      window: { type: tumbling, size: 25000 }\n      window_format: epoch_ms\n"
  it.live("a changed window is refused before anything is written; a parallelism change resumes exactly", () =>
    Effect.gen(function*() {
      const whole = yield* tempDir
      const dir = yield* tempDir
      const yaml = aggregateWorkflow("rescale", window)
      yield* Effect.promise(() => Promise.all([writeFile(join(whole, "wf.yaml"), yaml), writeFile(join(dir, "wf.yaml"), yaml)]))
      const full = yield* cli(["run", "wf.yaml", "--quiet"], { cwd: whole })
      assert.strictEqual(full.status, 0, full.stderr)
      const expected = lines(yield* Effect.promise(() => readFile(join(whole, "out.ndjson"), "utf8"))).sort()

      const run = yield* start(dir, ["run", "wf.yaml"])
      yield* until(hasCheckpoint(join(dir, ".dataflare", "rescale")))
      run.child.kill("SIGTERM")
      const first = yield* Effect.promise(() => run.exited)
      assert.strictEqual(first.code, 0, first.stderr)
      const before = yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8").catch(() => ""))

      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), yaml.replace("size: 25000", "size: 50000")))
      const changed = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(changed.status, 3, changed.stderr)
      assert.match(changed.stderr, /node 'totals' cannot resume \(checkpoint \d+\): its definition changed in a way its saved state cannot follow \(window: .*"size":25000.* → .*"size":50000/)
      assert.include(changed.stderr, "--drop-state totals")
      assert.strictEqual(yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8").catch(() => "")), before)

      // the original window at parallelism 3: the key groups carry each key's windows over
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), yaml.replace("    type: aggregate\n", "    type: aggregate\n    parallelism: 3\n")))
      const rescaled = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(rescaled.status, 0, rescaled.stderr)
      assert.deepStrictEqual(lines(yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8"))).sort(), expected)
    }))
})

describe("dataflare run --drop-state (process)", () => {
  it.live("a node whose change its state cannot follow starts over with --drop-state while the source resumes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const yaml = aggregateWorkflow("drop-state", "")
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), yaml))
      const run = yield* start(dir, ["run", "wf.yaml"])
      yield* until(hasCheckpoint(join(dir, ".dataflare", "drop-state")))
      run.child.kill("SIGTERM")
      const first = yield* Effect.promise(() => run.exited)
      assert.strictEqual(first.code, 0, first.stderr)
      assert.match(first.stdout, /stopped at checkpoint/)

      // another operation: the saved totals cannot become the new ones
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), yaml.replace("s: { op: sum, field: id }", "s: { op: max, field: id }")))
      const refused = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(refused.status, 3, refused.stderr)
      assert.include(refused.stderr, "--drop-state totals")
      const dropped = yield* cli(["run", "wf.yaml", "--drop-state", "totals"], { cwd: dir })
      assert.strictEqual(dropped.status, 0, dropped.stderr)
      const read = /\nnumbers\s+source\s+generator\s+0\s+([\d,]+)\n/.exec(dropped.stdout)
      assert.isNotNull(read, dropped.stdout)
      const resumedCount = Number(read![1].replaceAll(",", ""))
      // the source resumed after the checkpoint (not from the start) ...
      assert.isBelow(resumedCount, 200_000)
      const rows = lines(yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8")))
        .map((l) => JSON.parse(l) as { readonly g: number; readonly n: number; readonly s: number })
      // ... and the aggregate started empty: its totals count exactly what this run read, up to the last id
      assert.deepStrictEqual(rows.map((r) => r.g).sort(), [0, 1, 2, 3, 4, 5, 6, 7])
      assert.strictEqual(rows.reduce((n, r) => n + r.n, 0), resumedCount)
      assert.strictEqual(Math.max(...rows.map((r) => r.s)), 199_999)
    }))
})

describe("dataflare run: one writer per state directory (process)", () => {
  it.live("a second instance is refused before it opens anything; the first run's output is untouched", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "wf.yaml"),
          `name: endless
execution: { checkpoint_interval: 50ms }
sources:
  numbers: { type: generator, config: { count: 1000000000 } }
destinations:
  out: { type: ndjson, inputs: [numbers], config: { path: out.ndjson } }
`
        )
      )
      const first = yield* start(dir, ["run", "wf.yaml", "--state-dir", "state"])
      yield* until(hasCheckpoint(join(dir, "state")))
      const second = yield* cli(["run", "wf.yaml", "--state-dir", "state"], { cwd: dir })
      assert.strictEqual(second.status, 3, second.stderr)
      assert.include(second.stderr, `is being written by process ${first.child.pid}`)
      assert.notMatch(second.stdout, /records/)
      const size = (yield* Effect.promise(() => stat(join(dir, "out.ndjson")))).size
      assert.isAbove(size, 0)

      first.child.kill("SIGTERM")
      const done = yield* Effect.promise(() => first.exited)
      assert.strictEqual(done.code, 0, done.stderr)
      const text = yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8"))
      assert.notInclude(text, "\u0000")
      const ids = lines(text).map((l) => (JSON.parse(l) as { readonly id: number }).id)
      assert.isAbove(ids.length, 0)
      assert.isTrue(ids.every((id, i) => id === i), "every record once, in order")
    }))
})

describe("dataflare run: input identity (process)", () => {
  const csvWorkflow = `name: daily
execution: { checkpoint_interval: 1s }
sources:
  orders: { type: csv, config: { path: orders.csv } }
destinations:
  out: { type: ndjson, inputs: [orders], config: { path: out.ndjson } }
`
  const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${from + i},${(from + i) * 3}\n`).join("")

  it.live("a completed rerun says so; an appended file resumes; a replaced or truncated one is refused before anything is written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "orders.csv")
      const out = join(dir, "out.ndjson")
      yield* Effect.promise(() => Promise.all([writeFile(join(dir, "wf.yaml"), csvWorkflow), writeFile(file, "id,amount\n" + rows(0, 100))]))
      const first = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(first.status, 0, first.stderr)
      assert.strictEqual(lines(yield* Effect.promise(() => readFile(out, "utf8"))).length, 100)

      const again = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(again.status, 0, again.stderr)
      assert.match(again.stdout, /daily: already complete at checkpoint \d+; nothing new to read/)

      yield* Effect.promise(() => appendFile(file, rows(100, 150)))
      const appended = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(appended.status, 0, appended.stderr)
      const after = lines(yield* Effect.promise(() => readFile(out, "utf8")))
      assert.deepStrictEqual(after.map((l) => (JSON.parse(l) as { readonly id: string }).id), Array.from({ length: 150 }, (_, i) => String(i)))

      // the next day's file at the same path, as large: refused, the output stays as it was
      const before = yield* Effect.promise(() => readFile(out, "utf8"))
      yield* Effect.promise(() => writeFile(file, "id,amount\n" + rows(1000, 1150)))
      const replaced = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(replaced.status, 3, replaced.stderr)
      assert.match(replaced.stderr, /node 'orders' cannot resume \(checkpoint \d+\): the input file orders\.csv was replaced or rewritten/)
      assert.include(replaced.stderr, "--from-scratch")
      assert.strictEqual(yield* Effect.promise(() => readFile(out, "utf8")), before)

      // a smaller file
      yield* Effect.promise(() => writeFile(file, "id,amount\n" + rows(0, 10)))
      const truncated = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(truncated.status, 3, truncated.stderr)
      assert.match(truncated.stderr, /the input file orders\.csv is \d+ bytes long, shorter than/)
      assert.strictEqual(yield* Effect.promise(() => readFile(out, "utf8")), before)

      const fresh = yield* cli(["run", "wf.yaml", "--from-scratch"], { cwd: dir })
      assert.strictEqual(fresh.status, 0, fresh.stderr)
      assert.strictEqual(lines(yield* Effect.promise(() => readFile(out, "utf8"))).length, 10)
    }))
})

describe("dataflare run: checkpoint checksums (process)", () => {
  it.live("an edited offset in the newest checkpoint file is detected and not followed: a warning, the older checkpoint, every record once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const rows = Array.from({ length: 3000 }, (_, i) => `${i},${i % 7}`)
      yield* Effect.promise(() => writeFile(join(dir, "in.csv"), `id,amount\n${rows.join("\n")}\n`))
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "wf.yaml"),
          `name: checksums
execution: { batch_size: 100, checkpoint_interval: 1ms }
sources:
  orders: { type: csv, config: { path: in.csv } }
destinations:
  out: { type: ndjson, inputs: [orders], config: { path: out.ndjson } }
`
        )
      )
      const first = yield* cli(["run", "wf.yaml", "--state-dir", "state", "-q"], { cwd: dir })
      assert.strictEqual(first.status, 0, first.stderr)
      const names = (yield* Effect.promise(() => readdir(join(dir, "state")))).filter((n) => /^chk-\d+\.json$/.test(n)).sort()
      assert.isAbove(names.length, 1, "an older checkpoint to fall back to")
      const newest = join(dir, "state", names.at(-1)!)
      // the offset moved back to line 1,501 (still valid JSON, every other field as written)
      const text = yield* Effect.promise(() => readFile(newest, "utf8"))
      const offset = `${rows.slice(0, 1500).join("\n").length + "id,amount\n".length + 1}`
      const edited = text.replace(/"position":\{"offset":\d+,"line":\d+\}/, `"position":{"offset":${offset},"line":1502}`)
      assert.notStrictEqual(edited, text)
      yield* Effect.promise(() => writeFile(newest, edited))

      const rerun = yield* cli(["run", "wf.yaml", "--state-dir", "state"], { cwd: dir })
      assert.strictEqual(rerun.status, 0, rerun.stderr)
      assert.include(rerun.stderr, `ignoring checkpoint file state/${names.at(-1)}: its checksum does not match its content (it was edited or damaged)`)
      assert.notMatch(rerun.stdout, /warning|ignoring/, "warnings go to stderr only")
      const ids = lines(yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8"))).map((l) => (JSON.parse(l) as { readonly id: string }).id)
      assert.deepStrictEqual(ids, Array.from({ length: 3000 }, (_, i) => String(i)))
    }))
})

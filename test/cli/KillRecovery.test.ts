/**
 * Crash recovery with a real process: `dataflare run` on a large generated CSV (CSV → filter →
 * map → NDJSON, exactly-once file sink, checkpoints every 100 ms into a state directory) is
 * killed with SIGKILL mid-run — once, or twice at different points — then run again to
 * completion. The output must equal, byte for byte, the output of an uninterrupted run of the
 * same workflow into another file: the pipeline is linear at parallelism 1, so record order is
 * deterministic and the sink's restore truncates the file back to the restored checkpoint.
 * Also: the resumed run reads exactly the records after the restored checkpoint, and
 * `--from-scratch` ignores the stored state.
 */
import { open, readFile, stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { killAt, type Running, spawnIn } from "./killRun.ts"
import { cli, tempDir } from "./support.ts"

/** Rows of the generated CSV (~30 MB): a run takes seconds, ~10 checkpoints or more, so a kill lands mid-run; the whole file stays under ~60 s on a loaded machine. */
const ROWS = 800_000

// parallelism 1: the byte-for-byte comparison needs file order (a file this size would otherwise be
// read in byte ranges by the default auto, whose batches interleave; see docs/runtime.md)
const workflow = `name: kill-recovery
execution:
  parallelism: 1
  batch_size: 1000
  checkpoint_interval: 100ms
sources:
  orders:
    type: csv
    config:
      path: orders.csv
      columns: { id: integer, amount: number }
transformations:
  active:
    type: filter
    inputs: [orders]
    config:
      condition: "status == 'active' && amount >= 50"
  enriched:
    type: map
    inputs: [active]
    config:
      fields:
        customer: "upper(customer)"
        gross: "amount * 1.2"
destinations:
  out:
    type: ndjson
    inputs: [enriched]
    config:
      path: \${OUT}
`

const amountOf = (i: number): number => ((i * 37) % 500) + 0.25
const statusOf = (i: number): string => (i % 3 === 0 ? "inactive" : "active")

/** Writes the CSV in chunks (quoted fields with commas and quotes included); returns how many rows pass the filter. */
const generateCsv = (path: string, rows: number): Effect.Effect<number> =>
  Effect.promise(async () => {
    const file = await open(path, "w")
    let kept = 0
    try {
      await file.write("id,customer,status,amount\n")
      let chunk: Array<string> = []
      for (let i = 1; i <= rows; i++) {
        chunk.push(`${i},"cust ${i % 97}, ""${i % 5}""",${statusOf(i)},${amountOf(i)}`)
        if (statusOf(i) === "active" && amountOf(i) >= 50) kept++
        if (chunk.length === 50_000) {
          await file.write(chunk.join("\n") + "\n")
          chunk = []
        }
      }
      if (chunk.length > 0) await file.write(chunk.join("\n") + "\n")
    } finally {
      await file.close()
    }
    return kept
  })

/** The directory with the CSV, the workflow and the output of an uninterrupted run. */
class Fixture extends Context.Service<Fixture, {
  readonly dir: string
  readonly reference: Buffer
}>()("test/KillRecovery/Fixture") {}

/** `dataflare run wf.yaml --state-dir <state>` writing `out`. */
const start = (dir: string, out: string, state: string, extra: ReadonlyArray<string> = []) =>
  spawnIn(dir, ["run", "wf.yaml", "--state-dir", state, ...extra], { OUT: out })

/** Runs `dataflare run` to completion (no time limit but the test's). */
const runToEnd = (dir: string, out: string, state: string, extra: ReadonlyArray<string> = []) =>
  Effect.scoped(Effect.flatMap(start(dir, out, state, extra), (r) => r.ended))

/** Waits for checkpoint `id` in `dir/<state>`, SIGKILLs the run (still running, and printing no summary); returns the newest id. */
const killAtCheckpoint = (dir: string, running: Running, state: string, id: number) =>
  Effect.gen(function*() {
    const latest = yield* killAt(dir, running, id, join(dir, state))
    assert.strictEqual((yield* running.ended).stdout, "", "a killed run prints no summary")
    return latest
  })

interface Latest {
  readonly id: number
  readonly final: boolean
  /** Records of the CSV consumed at the checkpoint. */
  readonly consumed: number
  readonly offset: number
}

/** The latest checkpoint, as `dataflare checkpoints --format json` prints it. */
const latestCheckpoint = (dir: string, stateDir: string) =>
  Effect.gen(function*() {
    const result = yield* cli(["checkpoints", "wf.yaml", "--state-dir", stateDir, "--limit", "1", "--format", "json"], {
      cwd: dir,
      env: { OUT: "unused.ndjson" }
    })
    assert.strictEqual(result.status, 0, result.stderr)
    const [latest] = JSON.parse(result.stdout) as ReadonlyArray<{
      readonly id: number
      readonly final: boolean
      readonly positions: ReadonlyArray<{ readonly node: string; readonly position: { readonly offset: number; readonly line: number } }>
    }>
    assert.isDefined(latest, "a checkpoint exists")
    const position = latest.positions.find((p) => p.node === "orders")
    assert.isDefined(position)
    // `line` is the next line to read (1-based, the header is line 1)
    return { id: latest.id, final: latest.final, consumed: position!.position.line - 2, offset: position!.position.offset } satisfies Latest
  })

/** Records the source read in a run, from its summary table. */
const recordsRead = (stdout: string): number => {
  const m = /^orders\s+source\s+csv\s+[\d,]+\s+([\d,]+)$/m.exec(stdout)
  assert.isNotNull(m, stdout)
  return Number(m![1].replaceAll(",", ""))
}

const assertSameOutput = (dir: string, file: string, reference: Buffer) =>
  Effect.gen(function*() {
    const output = yield* Effect.promise(() => readFile(join(dir, file)))
    assert.strictEqual(output.length, reference.length, `${file} has the size of the uninterrupted run's output`)
    assert.isTrue(output.equals(reference), `${file} equals the uninterrupted run's output byte for byte`)
  })

const FixtureLive = Layer.effect(
  Fixture,
  Effect.gen(function*() {
    const dir = yield* tempDir
    const kept = yield* generateCsv(join(dir, "orders.csv"), ROWS)
    yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow))
    const ended = yield* runToEnd(dir, "reference.ndjson", "state-reference")
    assert.strictEqual(ended.code, 0, ended.stderr)
    assert.strictEqual(recordsRead(ended.stdout), ROWS)
    const reference = yield* Effect.promise(() => readFile(join(dir, "reference.ndjson")))
    const lines = reference.toString("utf8").split("\n")
    assert.strictEqual(lines.length - 1, kept, "the uninterrupted run wrote every record that passes the filter")
    // row 1 is filtered out (amount 37.25); row 2 is the first written, mapped
    assert.deepStrictEqual(JSON.parse(lines[0]), { id: 2, customer: "CUST 2, \"2\"", status: "active", amount: 74.25, gross: 74.25 * 1.2 })
    return { dir, reference }
  })
)

describe("dataflare run: kill -9 and resume (process)", () => {
  layer(FixtureLive, { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("killed after its first checkpoint, a rerun resumes there and the output equals an uninterrupted run's", () =>
      Effect.gen(function*() {
        const { dir, reference } = yield* Fixture
        yield* killAtCheckpoint(dir, yield* start(dir, "once.ndjson", "state-once"), "state-once", 1)
        const killedAt = yield* latestCheckpoint(dir, "state-once")
        assert.isFalse(killedAt.final, "killed before the final checkpoint")
        assert.isTrue(killedAt.consumed > 0 && killedAt.consumed < ROWS)
        const partial = yield* Effect.promise(() => stat(join(dir, "once.ndjson")))
        assert.isTrue(partial.size < reference.length, "the killed run had not written everything")

        const resumed = yield* runToEnd(dir, "once.ndjson", "state-once")
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        assert.strictEqual(recordsRead(resumed.stdout), ROWS - killedAt.consumed, "the rerun reads only what follows the checkpoint")
        yield* assertSameOutput(dir, "once.ndjson", reference)
      }))

    it.effect("killed twice at different points, the third run completes with the same output", () =>
      Effect.gen(function*() {
        const { dir, reference } = yield* Fixture
        const firstId = yield* killAtCheckpoint(dir, yield* start(dir, "twice.ndjson", "state-twice"), "state-twice", 1)
        const firstKill = yield* latestCheckpoint(dir, "state-twice")
        assert.strictEqual(firstKill.id, firstId)

        // the second run resumes from there; let it take five more checkpoints, then kill it too
        yield* killAtCheckpoint(dir, yield* start(dir, "twice.ndjson", "state-twice"), "state-twice", firstId + 5)
        const secondKill = yield* latestCheckpoint(dir, "state-twice")
        assert.isFalse(secondKill.final, "the second kill is mid-run too")
        assert.isTrue(secondKill.id >= firstId + 5)
        assert.isTrue(secondKill.offset > firstKill.offset, "the second kill is further into the input")

        const third = yield* runToEnd(dir, "twice.ndjson", "state-twice")
        assert.strictEqual(third.code, 0, third.stderr)
        assert.strictEqual(recordsRead(third.stdout), ROWS - secondKill.consumed)
        yield* assertSameOutput(dir, "twice.ndjson", reference)
      }))

    it.effect("--from-scratch ignores the checkpoints of a killed run and reads everything again", () =>
      Effect.gen(function*() {
        const { dir, reference } = yield* Fixture
        yield* killAtCheckpoint(dir, yield* start(dir, "scratch.ndjson", "state-scratch"), "state-scratch", 2)
        const killedAt = yield* latestCheckpoint(dir, "state-scratch")
        assert.isTrue(killedAt.consumed > 0 && killedAt.consumed < ROWS)

        const fresh = yield* runToEnd(dir, "scratch.ndjson", "state-scratch", ["--from-scratch"])
        assert.strictEqual(fresh.code, 0, fresh.stderr)
        assert.strictEqual(recordsRead(fresh.stdout), ROWS, "every record is read again")
        yield* assertSameOutput(dir, "scratch.ndjson", reference)
      }))
  })
})

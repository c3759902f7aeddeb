/**
 * Kill -9 and resume of `dataflare run` for the broker sources: the run reads a broker into an
 * exactly-once NDJSON file sink, checkpointing often into a state directory; it is SIGKILLed
 * twice (at its first checkpoint, then a few checkpoints later), run a third time until the file
 * holds as many lines as the broker was given, then stopped gracefully (SIGTERM: a final
 * checkpoint, acknowledged upstream). The caller compares the file with what it produced.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { killAt, type Running, start } from "../../cli/killRun.ts"

export { killAt, type Running, start }

/** The lines of the output file (none when it does not exist yet). */
export const outputLines = (path: string): Effect.Effect<ReadonlyArray<string>> =>
  Effect.promise(() => readFile(path, "utf8").then((t) => t.split("\n").filter((l) => l.length > 0), () => []))

/**
 * Writes `wf.yaml` (`source` is the YAML of the source node's `type` and `config`; the sink is
 * `ndjson` to `out.ndjson` unless `destination` gives another, with `count` saying how many
 * records it holds), kills two runs with SIGKILL, then runs until `expected` records are out and
 * stops gracefully. Returns how many were out after the killed runs, and the file's lines.
 */
export const killTwiceAndResume = (
  dir: string,
  source: ReadonlyArray<string>,
  expected: number,
  destination?: { readonly yaml: ReadonlyArray<string>; readonly count: Effect.Effect<number> }
) =>
  Effect.gen(function*() {
    const count = destination?.count ?? Effect.map(outputLines(join(dir, "out.ndjson")), (l) => l.length)
    yield* Effect.promise(() =>
      writeFile(
        join(dir, "wf.yaml"),
        [
          "name: broker-kill",
          "execution: { batch_size: 500, checkpoint_interval: 30ms }",
          "sources:",
          "  input:",
          ...source.map((l) => `    ${l}`),
          "destinations:",
          "  out:",
          "    inputs: [input]",
          ...(destination?.yaml ?? ["type: ndjson", "config: { path: out.ndjson }"]).map((l) => `    ${l}`)
        ].join("\n")
      )
    )
    const first = yield* killAt(dir, yield* start(dir), 1)
    const second = yield* killAt(dir, yield* start(dir), first + 3)
    assert.isTrue(second > first)
    const partial = yield* count
    const last = yield* start(dir)
    while ((yield* count) < expected) {
      if (last.child.exitCode !== null) {
        const ended = yield* last.ended
        return yield* Effect.die(new Error(`the last run ended early: ${ended.stderr}`))
      }
      yield* Effect.sleep("20 millis")
    }
    // a little longer: anything duplicated would show now
    yield* Effect.sleep("300 millis")
    last.child.kill("SIGTERM")
    const ended = yield* last.ended
    assert.strictEqual(ended.code, 0, ended.stderr)
    return { partial, lines: yield* outputLines(join(dir, "out.ndjson")) }
  })

/**
 * Torn writes for real: a child process writes large checkpoints in a loop and is killed with
 * SIGKILL at a random moment; the state directory must then restore exactly one of the
 * checkpoints it wrote — the last one it reported, or the one in flight if its rename landed.
 */
import { spawn } from "node:child_process"
import { watch } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as FileBackend from "../../src/backends/FileBackend.ts"
import { recordAt, stateAt, WORKFLOW } from "./fixtures/crashModel.ts"
import { tempDir } from "./support.ts"

const NODE = path.resolve("node_modules/.bin/node")
const WRITER = path.resolve("test/backends/fixtures/writer.ts")
const KEYS = 40_000
const COUNT = 12
const ROUNDS = Number(process.env.DATAFLARE_CRASH_ROUNDS ?? 4)

/**
 * When to kill: `delayMs` after the writer is ready, or (`onTempAfter`) as soon as a record's temp
 * file appears once that many writes have completed — in the middle of writing it.
 */
type Kill = { readonly delayMs: number } | { readonly onTempAfter: number }

/** Starts the writer, kills it, and returns the ids it reported and the temp files it left. */
const runAndKill = (directory: string, kill: Kill) =>
  Effect.promise(
    () =>
      new Promise<{ readonly written: ReadonlyArray<number>; readonly killed: boolean; readonly temps: ReadonlyArray<string> }>((resolve, reject) => {
        let temps: ReadonlyArray<string> = []
        const killNow = () => {
          if (child.killed) return
          child.kill("SIGKILL")
          // what the kill left behind, before anything else touches the directory
          fs.readdir(directory).then((names) => {
            temps = names.filter((n) => n.includes(".tmp-"))
          }, () => undefined)
        }
        const watcher = "onTempAfter" in kill
          ? watch(directory, (_event, name) => {
            const reported = out.split("\n").filter((l) => l.startsWith("written ")).length
            if (name?.startsWith(".chk-") && name.includes(".tmp-") && reported >= kill.onTempAfter) killNow()
          })
          : undefined
        const child = spawn(NODE, ["--experimental-strip-types", "--no-warnings", WRITER, directory, String(KEYS), String(COUNT)], {
          stdio: ["ignore", "pipe", "inherit"]
        })
        let out = ""
        let timer: NodeJS.Timeout | undefined
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString("utf8")
          if ("delayMs" in kill && timer === undefined && out.includes("ready\n")) timer = setTimeout(killNow, kill.delayMs)
        })
        child.on("error", reject)
        child.on("close", (_code, signal) => {
          if (timer !== undefined) clearTimeout(timer)
          watcher?.close()
          const written = out.split("\n").flatMap((l) => (l.startsWith("written ") ? [Number(l.slice(8))] : []))
          setTimeout(() => resolve({ written, killed: signal === "SIGKILL", temps }), 20)
        })
      })
  )

describe("file backend: a writer killed with SIGKILL", () => {
  it.live(`restores one of the written checkpoints (${ROUNDS} rounds: kills at random times and in the middle of a record, ${KEYS} keys)`, () =>
    Effect.gen(function*() {
      let torn = 0
      let killedMidRun = 0
      for (let round = 0; round < ROUNDS; round++) {
        const directory = path.join(yield* tempDir, "state")
        yield* Effect.promise(() => fs.mkdir(directory))
        // odd rounds: kill at a random time (the 12 writes take most of a second); even rounds: kill
        // in the middle of writing a record (after a random number of completed writes)
        const kill: Kill = round % 2 === 1 ? { delayMs: Math.floor(Math.random() * 800) } : { onTempAfter: Math.floor(Math.random() * 8) }
        const { written, killed, temps } = yield* runAndKill(directory, kill)
        if (killed && written.length < COUNT) killedMidRun++
        if (temps.length > 0) torn++
        const last = written.length === 0 ? 0 : written[written.length - 1]
        const backend = FileBackend.make({ directory })
        const restored = yield* backend.latest(WORKFLOW)
        if (restored === undefined) {
          assert.strictEqual(last, 0, "nothing restored although a write completed")
          continue
        }
        // the write after the last reported one may have landed (renamed) before the kill
        assert.include([last, last + 1], restored.id, `reported up to ${last}`)
        const entries = restored.operators.get("agg/0")?.entries ?? []
        const byKey = (a: readonly [string, unknown], b: readonly [string, unknown]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
        // compared as JSON text: a deep-equal of 40k entries takes seconds
        assert.strictEqual(JSON.stringify([...entries].sort(byKey)), JSON.stringify([...stateAt(restored.id, KEYS)].sort(byKey)))
        assert.deepStrictEqual(restored.positions, [{ node: "src", instance: 0, position: restored.id * 100 }])
        // the restarted process goes on with the next checkpoint; the torn temp file is removed
        yield* backend.write(recordAt(restored.id + 1, KEYS))
        assert.strictEqual((yield* backend.latest(WORKFLOW))?.id, restored.id + 1)
        const names = yield* Effect.promise(() => fs.readdir(directory))
        assert.deepStrictEqual(names.filter((n) => n.includes(".tmp-")), [])
      }
      yield* Effect.log(`crash rounds: ${ROUNDS}, killed mid-run: ${killedMidRun}, torn temp files left: ${torn}`)
      assert.isAbove(killedMidRun, 0, "no round killed the writer while it was writing")
      assert.isAbove(torn, 0, "no round left a torn temp file behind")
    }), 300_000)
})

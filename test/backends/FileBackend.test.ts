import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as FileBackend from "../../src/backends/FileBackend.ts"
import { info } from "../../src/Checkpoint.ts"
import { RETAIN, StateBackendError } from "../../src/StateBackend.ts"
import { backendSuite } from "../../src/testing/vitest.ts"
import { checkRewind, entriesOf, record, tempDir, withWarnings } from "./support.ts"

backendSuite("file backend (one directory per workflow under a root)", Effect.map(tempDir, (root) => FileBackend.make({ root })))
backendSuite("file backend (a fixed state directory)", Effect.map(tempDir, (directory) => FileBackend.make({ directory })), { workflows: "one" })

const W = "orders"
const files = (dir: string) => Effect.promise(async () => (await fs.readdir(dir)).sort())
const overwrite = (file: string, content: string) => Effect.promise(() => fs.writeFile(file, content))
const failureOf = <A>(exit: Exit.Exit<A, StateBackendError>) =>
  Exit.isFailure(exit) ? exit.cause.reasons.flatMap((r) => (r._tag === "Fail" ? [r.error] : []))[0] : undefined

describe("file backend: checksums", () => {
  it.live("an edited record (one offset changed) is detected and not followed: the older chain is restored, with a warning", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tempDir, "state")
      const backend = FileBackend.make({ directory: dir })
      const at = (id: number, offset: number) => ({ ...record(W, id, true, [["k", id]]), format: 2 as const, positions: [{ node: "src", instance: 0, position: { offset, line: id } }] })
      yield* backend.write(at(1, 100))
      yield* backend.write(at(2, 200))
      const file = path.join(dir, "chk-000000000002.json")
      const text = yield* Effect.promise(() => fs.readFile(file, "utf8"))
      assert.include(text, `"offset":200`)
      yield* overwrite(file, text.replace(`"offset":200`, `"offset":900`))
      const { value: restored, warnings } = yield* withWarnings(FileBackend.make({ directory: dir }).latest(W))
      assert.strictEqual(restored?.id, 1)
      assert.deepStrictEqual(restored?.positions[0].position, { offset: 100, line: 1 })
      assert.isTrue(warnings.some((w) => w.includes("chk-000000000002.json") && w.includes("checksum does not match")), warnings.join("\n"))
      // a record of the checksummed format with its checksum removed is damaged too
      const { checksum: _, ...bare } = JSON.parse(text)
      yield* overwrite(file, JSON.stringify(bare))
      const again = yield* withWarnings(FileBackend.make({ directory: dir }).latest(W))
      assert.strictEqual(again.value?.id, 1)
      assert.isTrue(again.warnings.some((w) => w.includes("it has no checksum")), again.warnings.join("\n"))
    }))
})

describe("file backend: layout", () => {
  it.live("one zero-padded JSON file per record, and the owner's name, in the state directory", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tempDir, "state")
      const backend = FileBackend.make({ directory: dir })
      yield* backend.write(record(W, 1, true, [["a", 1]]))
      yield* backend.write(record(W, 2, false, [["b", 2]]))
      assert.deepStrictEqual(yield* files(dir), ["chk-000000000001.json", "chk-000000000002.json", "index.json", "workflow.json", "writer.lock"])
      const { checksum, ...stored } = JSON.parse(yield* Effect.promise(() => fs.readFile(path.join(dir, "chk-000000000002.json"), "utf8")))
      assert.deepStrictEqual(stored, record(W, 2, false, [["b", 2]]))
      assert.match(checksum, /^[0-9a-f]{64}$/)
      assert.deepStrictEqual(JSON.parse(yield* Effect.promise(() => fs.readFile(path.join(dir, "workflow.json"), "utf8"))), { format: 1, workflow: W })
      // missing parents are created too
      const nested = FileBackend.make({ directory: path.join(dir, "x", "y", "z") })
      yield* nested.write(record(W, 1, true, [["n", 1]]))
      assert.deepStrictEqual(yield* entriesOf(nested, W), [["n", 1]])
    }))

  it.live("the default directory is <root>/<workflow name>, any name one safe path segment", () =>
    Effect.gen(function*() {
      assert.strictEqual(FileBackend.directoryFor("enhanced-data-pipeline"), path.join(".dataflare", "enhanced-data-pipeline"))
      assert.strictEqual(FileBackend.directoryFor("a/b", "/s"), "/s/a%2Fb")
      assert.strictEqual(FileBackend.directoryFor("..", "/s"), "/s/%2E%2E")
      assert.strictEqual(FileBackend.directoryFor("", "/s"), "/s/%00")
      const root = yield* tempDir
      const backend = FileBackend.make({ root })
      yield* backend.write(record("../escape", 1, true, [["a", 1]]))
      assert.deepStrictEqual(yield* files(root), ["..%2Fescape"])
      assert.deepStrictEqual(yield* entriesOf(backend, "../escape"), [["a", 1]])
    }))

  it.live(`old records are deleted from disk once ${RETAIN} newer ones exist after a full one`, () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const backend = FileBackend.make({ directory: dir })
      for (let id = 1; id <= 25; id++) yield* backend.write(record(W, id, id % 5 === 1, [[`k${id}`, id]]))
      // the last 10 are 16..25; 16 is full, so nothing older is needed
      const names = (yield* files(dir)).filter((n) => n.startsWith("chk-"))
      assert.deepStrictEqual(names, Array.from({ length: 10 }, (_, i) => `chk-${String(16 + i).padStart(12, "0")}.json`))
      yield* backend.write(record(W, 26, false, [["k26", 26]]))
      // 17..26 must stay, and 16 (the full one they build on) with them
      assert.strictEqual((yield* files(dir)).filter((n) => n.startsWith("chk-")).length, 11)
    }))

  it.live("a new process (a fresh backend on the same directory) restores and lists what an earlier one wrote", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const first = FileBackend.make({ directory: dir })
      for (let id = 1; id <= 4; id++) yield* first.write(record(W, id, id === 1, [[`k${id}`, id]], id === 3 ? ["k1"] : []))
      const second = FileBackend.make({ directory: dir })
      assert.deepStrictEqual(yield* entriesOf(second, W), [["k2", 2], ["k3", 3], ["k4", 4]])
      assert.deepStrictEqual((yield* second.list(W, 2)).map((i) => i.id), [4, 3])
      yield* second.write(record(W, 5, false, [["k5", 5]]))
      assert.deepStrictEqual((yield* first.list(W, 1)).map((i) => i.id), [5])
    }))
})

describe("file backend: metadata index", () => {
  it.live("a new process lists checkpoints from index.json without reading the records", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const written = [record(W, 1, true, [["a", "x".repeat(50)]]), record(W, 2, false, [["b", 2]])]
      const first = FileBackend.make({ directory: dir })
      for (const r of written) yield* first.write(r)
      // garble record 1 but keep its size and mtime: only the index can still describe it
      const file = path.join(dir, "chk-000000000001.json")
      const stat = yield* Effect.promise(() => fs.stat(file))
      yield* overwrite(file, "#".repeat(stat.size))
      // (the cache key has the mtime in whole ms; set the middle of that ms, clear of rounding)
      yield* Effect.promise(() => fs.utimes(file, stat.atime, (Math.floor(stat.mtimeMs) + 0.5) / 1000))
      const infos = yield* FileBackend.make({ directory: dir }).list(W, 10)
      assert.deepStrictEqual([...infos], [info(written[1]), info(written[0])])
      // restore never trusts the index: it reads the records, finds 1 damaged, and has no chain
      assert.isUndefined(yield* FileBackend.make({ directory: dir }).latest(W))
    }))

  it.live("an index entry for a file that changed, or a damaged index, is not trusted", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const backend = FileBackend.make({ directory: dir })
      for (let id = 1; id <= 3; id++) yield* backend.write(record(W, id, id === 1, [[`k${id}`, id]]))
      yield* overwrite(path.join(dir, "chk-000000000003.json"), "{}")
      assert.deepStrictEqual((yield* FileBackend.make({ directory: dir }).list(W, 10)).map((i) => i.id), [2, 1])
      yield* overwrite(path.join(dir, "index.json"), "{\"format\":1,\"entries\":[{\"key\":1}]}")
      assert.deepStrictEqual((yield* FileBackend.make({ directory: dir }).list(W, 10)).map((i) => i.id), [2, 1])
      yield* Effect.promise(() => fs.rm(path.join(dir, "index.json")))
      assert.deepStrictEqual((yield* FileBackend.make({ directory: dir }).list(W, 10)).map((i) => i.id), [2, 1])
    }))
})

describe("file backend: damage", () => {
  it.live("a corrupt newest record is skipped with a warning, and the previous checkpoint restored", () =>
    Effect.gen(function*() {
      for (const damage of ["", "{\"format\":1,\"workflow\":\"orders\",\"id\":3,\"sta", "{\"format\":1}", "not json at all", "[1,2,3]"]) {
        const dir = yield* tempDir
        const backend = FileBackend.make({ directory: dir })
        yield* backend.write(record(W, 1, true, [["a", 1]]))
        yield* backend.write(record(W, 2, false, [["b", 2]]))
        yield* backend.write(record(W, 3, false, [["c", 3]]))
        yield* overwrite(path.join(dir, "chk-000000000003.json"), damage)
        const { value, warnings } = yield* withWarnings(entriesOf(FileBackend.make({ directory: dir }), W))
        assert.deepStrictEqual(value, [["a", 1], ["b", 2]], `damage ${JSON.stringify(damage)}`)
        assert.isTrue(warnings.some((w) => w.includes("chk-000000000003.json")), warnings.join("\n"))
        assert.deepStrictEqual((yield* backend.list(W, 10)).map((i) => i.id), [2, 1])
      }
    }))

  it.live("a damaged record is read (and warned about) once, not on every later write", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const backend = FileBackend.make({ directory: dir })
      for (let id = 1; id <= 3; id++) yield* backend.write(record(W, id, id === 1, [[`k${id}`, id]]))
      yield* overwrite(path.join(dir, "chk-000000000002.json"), "{")
      const { warnings } = yield* withWarnings(Effect.gen(function*() {
        for (let id = 4; id <= 8; id++) yield* backend.write(record(W, id, id === 4, [[`k${id}`, id]]))
      }))
      assert.strictEqual(warnings.filter((w) => w.includes("chk-000000000002.json")).length, 1, warnings.join("\n"))
      assert.deepStrictEqual(yield* entriesOf(backend, W), [["k4", 4], ["k5", 5], ["k6", 6], ["k7", 7], ["k8", 8]])
    }))

  it.live("a missing or corrupt link falls back to the newest chain that is complete", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const backend = FileBackend.make({ directory: dir })
      for (let id = 1; id <= 6; id++) yield* backend.write(record(W, id, id === 1 || id === 4, [[`k${id}`, id]]))
      yield* Effect.promise(() => fs.rm(path.join(dir, "chk-000000000005.json")))
      const restored = yield* withWarnings(backend.latest(W))
      assert.strictEqual(restored.value?.id, 4)
      assert.deepStrictEqual(restored.value?.operators.get("op/0")?.entries, [["k4", 4]])
      assert.isTrue(restored.warnings.some((w) => w.includes("checkpoint 6 cannot be restored")), restored.warnings.join("\n"))
      // with the full record 4 damaged too, only the chain 1..3 is left
      yield* overwrite(path.join(dir, "chk-000000000004.json"), "{")
      assert.deepStrictEqual(yield* entriesOf(backend, W), [["k1", 1], ["k2", 2], ["k3", 3]])
      // and with 2 gone, only 1
      yield* Effect.promise(() => fs.rm(path.join(dir, "chk-000000000002.json")))
      assert.deepStrictEqual(yield* entriesOf(backend, W), [["k1", 1]])
      yield* overwrite(path.join(dir, "chk-000000000001.json"), "")
      assert.isUndefined(yield* backend.latest(W))
    }))

  it.live("temp files of an interrupted write are never read, and the next write removes them", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const backend = FileBackend.make({ directory: dir })
      yield* backend.write(record(W, 1, true, [["a", 1]]))
      // what a writer killed mid-write leaves: a truncated temp file of the next record
      const temp = path.join(dir, ".chk-000000000002.json.tmp-99999-0badf00d")
      yield* overwrite(temp, JSON.stringify(record(W, 2, true, [["torn", 2]])).slice(0, 40))
      assert.deepStrictEqual(yield* entriesOf(backend, W), [["a", 1]])
      assert.deepStrictEqual((yield* backend.list(W, 10)).map((i) => i.id), [1])
      yield* backend.write(record(W, 2, false, [["b", 2]]))
      assert.deepStrictEqual(yield* files(dir), ["chk-000000000001.json", "chk-000000000002.json", "index.json", "workflow.json", "writer.lock"])
    }))

  it.live("after restoring an older checkpoint, the next write discards the abandoned newer records", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* checkRewind(FileBackend.make({ directory: dir }), W, (id) => overwrite(path.join(dir, `chk-${String(id).padStart(12, "0")}.json`), "{\"torn"))
      assert.deepStrictEqual((yield* files(dir)).filter((n) => n.startsWith("chk-")), ["chk-000000000001.json", "chk-000000000002.json", "chk-000000000003.json"])
    }))
})

describe("file backend: ownership", () => {
  it.live("one process writes a state directory: a live holder is refused, a dead one taken over, the lock released with the scope", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const lockFile = path.join(dir, "writer.lock")
      // the parent process of this test is alive and is not this process
      yield* overwrite(lockFile, JSON.stringify({ pid: process.ppid, host: os.hostname() }))
      const error = failureOf(yield* Effect.exit(FileBackend.make({ directory: dir }).write(record(W, 1, true, [["a", 1]]))))
      assert.include(error?.message, `is being written by process ${process.ppid} on ${os.hostname()}`)
      assert.include(error?.message, lockFile)
      // a holder that has ended
      const dead = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const child = spawn(process.execPath, ["-e", ""])
          child.on("exit", () => resolve(child.pid ?? 0))
        })
      )
      yield* overwrite(lockFile, JSON.stringify({ pid: dead, host: os.hostname() }))
      yield* Effect.scoped(Effect.gen(function*() {
        const backend = yield* FileBackend.scoped({ directory: dir })
        yield* backend.write(record(W, 1, true, [["a", 1]]))
        assert.deepStrictEqual(JSON.parse(yield* Effect.promise(() => fs.readFile(lockFile, "utf8"))), { pid: process.pid, host: os.hostname() })
      }))
      assert.notInclude(yield* files(dir), "writer.lock")
      assert.deepStrictEqual(yield* entriesOf(FileBackend.make({ directory: dir }), W), [["a", 1]])
    }))


  it.live("a state directory belongs to one workflow; any other is refused, naming both", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const backend = FileBackend.make({ directory: dir })
      yield* backend.write(record(W, 1, true, [["a", 1]]))
      const other = FileBackend.make({ directory: dir })
      for (const op of [other.write(record("payments", 1, true, [["x", 1]])), other.latest("payments"), other.list("payments", 5), other.clear("payments")]) {
        const error = failureOf(yield* Effect.exit(op))
        assert.instanceOf(error, StateBackendError)
        assert.include(error?.message, "belongs to workflow 'orders', not 'payments'")
      }
      assert.deepStrictEqual(yield* entriesOf(backend, W), [["a", 1]])
    }))

  it.live("a record of another workflow in the directory is refused, not restored", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* FileBackend.make({ directory: dir }).write(record(W, 1, true, [["a", 1]]))
      yield* Effect.promise(() => fs.rm(path.join(dir, "workflow.json")))
      const error = failureOf(yield* Effect.exit(FileBackend.make({ directory: dir }).latest("payments")))
      assert.include(error?.message, "holds a checkpoint of workflow 'orders', not 'payments'")
    }))

  it.live("an unwritable state directory is a StateBackendError naming the path", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const blocker = path.join(root, "file")
      yield* overwrite(blocker, "x")
      const error = failureOf(yield* Effect.exit(FileBackend.make({ directory: path.join(blocker, "state") }).write(record(W, 1, true, []))))
      assert.instanceOf(error, StateBackendError)
      assert.include(error?.message, blocker)
    }))
})

/**
 * The dead-letter tests of the broker sinks (`redis-streams`, `nats`, `rabbitmq`, `mqtt`), one
 * helper for the four: open a sink with `on_error: dead_letter` into a file of a temporary
 * directory, write batches, flush (as a checkpoint barrier does), and read the letters back; or
 * open it with the default `on_error: fail` and take the error that names the refused record.
 * Plus a broker server of a test's own (`redis-server`, `mosquitto` with limits the shared ones do
 * not have) on a free loopback port, stopped with the scope.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { createConnection, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type * as Connector from "../../../src/Connector.ts"
import { ConnectorError, RecordError } from "../../../src/Errors.ts"

/** A dead letter as the file holds it. */
export interface Letter {
  readonly node: string
  readonly at: string
  readonly error: string
  readonly record: { readonly [k: string]: unknown }
  readonly [key: string]: unknown
}

/** A temporary directory, removed with the scope. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "df-sink-letters-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

const context = (onDeadLetters?: (n: number) => void): Connector.OpenContext => ({
  node: "out",
  batchSize: 100,
  instance: 0,
  parallelism: 1,
  ...(onDeadLetters !== undefined ? { onDeadLetters } : {})
})

/** Writes each batch then flushes once (a checkpoint barrier); fails as the writer does. */
export const writeAll = (writer: Connector.SinkWriter<unknown>, batches: ReadonlyArray<ReadonlyArray<unknown>>) =>
  Effect.gen(function*() {
    for (const b of batches) yield* writer.writeBatch(Batch.make([...b]))
    yield* writer.flush
  })

const order = (l: Letter): number => (typeof l.record.n === "number" ? l.record.n : Number.POSITIVE_INFINITY)

/**
 * Opens `sink` with `config` plus `on_error: dead_letter` into a file, writes `batches` and
 * flushes; the letters in the file (by `record.n`; letters without one last) and how many the
 * sink reported.
 */
export const deadLettered = <C>(
  sink: Connector.SinkDefinition<C, unknown>,
  config: C,
  batches: ReadonlyArray<ReadonlyArray<unknown>>
): Effect.Effect<{ readonly letters: ReadonlyArray<Letter>; readonly counted: number }, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const path = join(yield* tempDir, "letters.ndjson")
    let counted = 0
    const writer = yield* sink.open({ ...config, on_error: "dead_letter", dead_letter: { path } }, context((n) => (counted += n)))
    yield* writeAll(writer, batches)
    const text = yield* Effect.promise(() => readFile(path, "utf8").catch(() => ""))
    const letters = text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Letter)
    return { letters: [...letters].sort((a, b) => order(a) - order(b)), counted }
  })

/** The record an error names: a `RecordError`'s, or that of the rejection a flush failed with. */
export const recordOf = (error: unknown): unknown => {
  if (error instanceof RecordError) return error.record
  if (error instanceof ConnectorError) {
    const cause = "cause" in error.reason ? error.reason.cause : undefined
    return cause instanceof RecordError ? cause.record : undefined
  }
  return undefined
}

/**
 * Opens `sink` with `config` (`on_error` unset: `fail`), writes `batches`, and returns the error
 * it failed with (asserting it names `record` and matches `reason`).
 */
export const failsNaming = <C>(
  sink: Connector.SinkDefinition<C, unknown>,
  config: C,
  batches: ReadonlyArray<ReadonlyArray<unknown>>,
  record: unknown,
  reason: RegExp
): Effect.Effect<unknown, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const writer = yield* sink.open(config, context())
    const error = yield* Effect.flip(writeAll(writer, batches))
    assert.match(String((error as { readonly message?: unknown }).message), reason)
    assert.deepStrictEqual(recordOf(error), record, "the error names the refused record")
    return error
  })

/** A free loopback TCP port. */
const freePort = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })
)

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/**
 * A server of the test's own on a free loopback port: `command` with `args(port, dir)` (`files`
 * written into a temporary directory first), ready once the port answers; killed with the scope.
 */
export const ownServer = (
  command: string,
  args: (port: number, dir: string) => ReadonlyArray<string>,
  files: (port: number) => { readonly [name: string]: string } = () => ({})
): Effect.Effect<{ readonly port: number }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* tempDir
    const port = yield* freePort
    // readable by a server that drops root's privileges (mosquitto becomes user mosquitto)
    yield* Effect.promise(() => chmod(dir, 0o755))
    yield* Effect.promise(() => Promise.all(Object.entries(files(port)).map(([name, text]) => writeFile(join(dir, name), text, { mode: 0o644 }))))
    const child: ChildProcess = yield* Effect.acquireRelease(
      Effect.sync(() => spawn(command, [...args(port, dir)], { cwd: dir, stdio: "ignore" })),
      (c) =>
        Effect.promise(() =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve()
            c.once("exit", () => resolve())
            c.kill("SIGKILL")
          })
        )
    )
    for (let i = 0; !(yield* Effect.promise(() => answers(port))); i++) {
      if (child.exitCode !== null || i > 200) return yield* Effect.die(new Error(`${command} did not start on port ${port}`))
      yield* Effect.sleep("25 millis")
    }
    return { port }
  })

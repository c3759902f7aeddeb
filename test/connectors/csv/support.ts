/**
 * Helpers shared by the file and in-memory connector tests: prepare a connector through the
 * registry (so its config Schema is exercised), read everything, write batches, temp dirs, a
 * file source's dead-letter entries.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert } from "@effect/vitest"
import { Effect, Exit, type Scope } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type { Position } from "../../../src/Batch.ts"
import type { OpenContext, SinkWriter, SourceReader } from "../../../src/Connector.ts"
import { connectorDefinitions } from "../../../src/connectors/index.ts"
import type { ConnectorError, RecordError } from "../../../src/Errors.ts"
import * as Registry from "../../../src/Registry.ts"

export const context: OpenContext = { node: "test", batchSize: 1000, instance: 0, parallelism: 1 }

/** A fresh temp dir, removed when the scope closes. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "dataflare-connectors-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const registry = Effect.runSync(Registry.make(connectorDefinitions))

/** Decodes `config` with the connector's Schema; fails the test on config issues. */
export const prepare = (kind: "source" | "sink", type: string, config: unknown) => {
  const entry = registry.find(kind, type)
  assert.isDefined(entry)
  if (entry === undefined || entry.kind === "processor") throw new Error(`no ${kind} ${type}`)
  const prepared = entry.prepare(config)
  if (!prepared.ok) throw new Error(`config issues: ${JSON.stringify(prepared.issues)}`)
  return prepared.value
}

/** The config issues of an invalid config (paths joined with dots). */
export const configIssues = (kind: "source" | "sink", type: string, config: unknown): Array<string> => {
  const entry = registry.find(kind, type)
  if (entry === undefined || entry.kind === "processor") throw new Error(`no ${kind} ${type}`)
  const prepared = entry.prepare(config)
  return prepared.ok ? [] : prepared.issues.map((i) => `${i.path.map(String).join(".")}: ${i.message}`)
}

export const openSource = (type: string, config: unknown, ctx: OpenContext = context) => {
  const p = prepare("source", type, config)
  if (p._tag !== "PreparedSource") throw new Error("not a source")
  return p.open(ctx)
}

export const openSink = (type: string, config: unknown, ctx: OpenContext = context) => {
  const p = prepare("sink", type, config)
  if (p._tag !== "PreparedSink") throw new Error("not a sink")
  return p.open(ctx)
}

/** Reads batches of at most `max` until the end (or `limit` records), with the positions seen. */
export const drain = <A>(reader: SourceReader<A>, max = 1000, limit = Number.POSITIVE_INFINITY) =>
  Effect.gen(function*() {
    const records: Array<A> = []
    const positions: Array<Position> = []
    while (records.length < limit) {
      const batch = yield* reader.readBatch(Math.min(max, limit - records.length))
      if (batch === undefined) break
      for (const r of Batch.toArray(batch)) records.push(r)
      positions.push(batch.origin?.position ?? null)
    }
    return { records, positions }
  })

/** Reads a whole source. */
export const readAll = (type: string, config: unknown, max = 1000) =>
  Effect.scoped(Effect.flatMap(openSource(type, config), (reader) => drain(reader, max)))
    .pipe(Effect.map((r) => r.records))

/** Writes the records in batches of `size`, then flushes. */
export const writeAll = (writer: SinkWriter<unknown>, records: ReadonlyArray<unknown>, size = 1000) =>
  Effect.gen(function*() {
    for (let i = 0; i < records.length; i += size) yield* writer.writeBatch(Batch.make(records.slice(i, i + size)))
    yield* writer.flush
  })

/** The error an effect fails with (fails the test if it succeeds or dies). */
export const failure = <A, E extends ConnectorError | RecordError, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    if (Exit.isSuccess(exit)) return assert.fail("expected a failure")
    const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
    if (reason === undefined || reason._tag !== "Fail") return assert.fail(`expected a typed failure`)
    return reason.error
  })

/** An entry of a file source's dead-letter file (`on_error` / `oversize: dead_letter`). */
export interface SourceLetter {
  readonly node: string
  readonly file: string
  readonly at: string
  readonly line: number
  readonly column?: number
  readonly field?: string
  readonly instance?: number
  readonly error: string
  readonly record: string | null
}

/** The entries of the dead-letter file at `path` (none when it does not exist). */
export const sourceLetters = (path: string): Array<SourceLetter> =>
  existsSync(path) ? readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as SourceLetter) : []

/** Runs `f` on the file `name` holding `content`, in a fresh temp dir (`dir`, removed after). */
export const withInput = <A, E>(name: string, content: string | Buffer, f: (path: string, dir: string) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.gen(function*() {
    const dir = yield* tempDir
    const path = join(dir, name)
    writeFileSync(path, content)
    return yield* f(path, dir)
  }))

/**
 * The sink conformance suite (src/testing/SinkSuite.ts) run for the file sinks (csv, ndjson: the
 * kit's FileSink with its codec), the memory `collect` sink in both guarantees, and the stdout
 * sink's writer (at-least-once; no workflow cases: it writes the process's standard output).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { Codecs, type Connector, Csv, Memory, Ndjson, Stdout } from "../../../src/index.ts"
import { SinkSuite } from "../../../src/testing/index.ts"
import { sinkSuite } from "../../../src/testing/vitest.ts"

const context = { node: "sink", batchSize: 100, instance: 0, parallelism: 1 }

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "sink-suite-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const fileText = (path: string) =>
  Effect.sync(() => {
    try {
      return readFileSync(path, "utf8")
    } catch {
      return ""
    }
  })

const decode = <A>(schema: Schema.Decoder<A>, value: unknown): A => Schema.decodeUnknownSync(schema)(value)

const definition = (d: unknown) => d as Connector.SinkDefinition<unknown, unknown, unknown>

/** The suite of a file sink: a new file per case, read back with `codec` (after the header line, with `header`). */
const fileSink = (sink: typeof Csv.sinkDefinition, name: string, codec: Codecs.Codec, badConfigs: (path: string) => ReadonlyArray<unknown>, header = false) =>
  Effect.map(tempDir, (dir) => {
    const path = join(dir, name)
    const config = { path }
    return {
      open: sink.open(decode(sink.config, config), context),
      read: Effect.map(fileText(path), (text) => {
        const all = codec.decodeAll(header ? text.slice(text.indexOf("\n") + 1) : text)
        if (Codecs.isDecodeError(all)) throw all
        return all
      }),
      guarantee: "exactly-once" as const,
      workflow: { definition: definition(sink), config, badConfigs: badConfigs(path) }
    }
  })

sinkSuite("ndjson sink", fileSink(Ndjson.sinkDefinition, "out.ndjson", Codecs.ndjson(), () => [{}, { path: "" }, { path: 42 }]))

// the header, then the records: read back with the csv codec (typed as written)
sinkSuite(
  "csv sink",
  fileSink(
    Csv.sinkDefinition,
    "out.csv",
    Codecs.csv({ columns: { id: "integer", name: "string" } }),
    (path) => [{ path, delimiter: ",," }, { path, header: "yes" }, {}],
    true
  )
)

for (const guarantee of ["at-least-once", "exactly-once"] as const) {
  sinkSuite(
    `collect sink (${guarantee})`,
    Effect.acquireRelease(
      Effect.sync(() => `sink-suite-${guarantee}-${Math.random().toString(36).slice(2)}`),
      (name) => Effect.sync(() => Memory.list(name).clear())
    ).pipe(Effect.map((name) => {
      const config = { name, guarantee }
      return {
        open: Memory.sinkDefinition.open(decode(Memory.sinkDefinition.config, config), context),
        read: Effect.sync(() => Memory.list(name).records()),
        guarantee,
        workflow: { definition: definition(Memory.sinkDefinition), config, badConfigs: [{ name: "" }, { guarantee: "twice" }] }
      }
    }))
  )
}

sinkSuite(
  "stdout sink (its writer, NDJSON to a captured stream)",
  Effect.sync(() => {
    let text = ""
    const output = {
      write: (chunk: string, callback: (error?: Error | null) => void) => {
        text += chunk
        callback()
        return true
      }
    }
    return {
      open: Effect.sync(() => Stdout.StdoutSink.makeWriter("ndjson", output)),
      read: Effect.sync(() => {
        const all = Codecs.ndjson().decodeAll(text)
        if (Codecs.isDecodeError(all)) throw all
        return all
      }),
      guarantee: "at-least-once" as const
    }
  }),
  { workflow: false }
)

describe("the sink suite catches", () => {
  /** A sink claiming exactly-once whose restore keeps everything (a replay duplicates), or that drops every 100th record. */
  const faulty = (fault: "no-restore" | "drops") =>
    Effect.sync(() => {
      const held: Array<unknown> = []
      let seen = 0
      const writer: Connector.SinkWriter<unknown> = {
        writeBatch: (batch) =>
          Effect.sync(() => {
            for (let i = batch.start; i < batch.end; i++) if (fault !== "drops" || ++seen % 100 !== 0) held.push(batch.records[i])
            return { written: batch.end - batch.start }
          }),
        flush: Effect.void,
        restore: () => Effect.void
      }
      return { open: Effect.succeed(writer), read: Effect.sync(() => [...held]), guarantee: "exactly-once" as const }
    })

  it.live("a replay written twice by an exactly-once sink", () =>
    Effect.gen(function*() {
      const restart = SinkSuite.cases(faulty("no-restore"), { workflow: false }).find((c) => c.name.startsWith("a restart"))
      const exit = yield* Effect.exit(restart?.run ?? Effect.void)
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("written twice"))
    }))

  it.live("records lost", () =>
    Effect.gen(function*() {
      const once = SinkSuite.cases(faulty("drops"), { workflow: false })[0]
      const exit = yield* Effect.exit(once.run)
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("records lost"))
    }))
})

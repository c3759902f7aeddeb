/**
 * Helpers for the CDC tests: unique publication and slot names (dropped with the scope), the YAML
 * of a `postgres-cdc` source and a whole CDC → NDJSON workflow directory (for the tests that run
 * `dataflare run` as a process), opening the source, reading until a condition holds, the slot's
 * confirmed LSN (waited for).
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect, type Scope } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type * as Connector from "../../../src/Connector.ts"
import { lsnValue } from "../../../src/connectors/postgres/internal/replication.ts"
import { type ChangeRecord, dropSlot, PostgresCdc } from "../../../src/connectors/postgres/PostgresCdc.ts"
import { tempDir } from "../../cli/support.ts"
import { context, decode, sql, URL, withSchema } from "./support.ts"

export const unique = () => `${process.pid}_${Math.floor(Math.random() * 1e9)}`

/** A publication and slot name, dropped with the scope. */
export const names = Effect.acquireRelease(
  Effect.sync(() => {
    const id = unique()
    return { publication: `df_pub_${id}`, slot: `df_slot_${id}` }
  }),
  ({ publication, slot }) =>
    Effect.gen(function*() {
      // The stream's connection may still be closing: retry until the slot is inactive.
      for (let i = 0; i < 50; i++) {
        const active = yield* sql(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [slot])
        if (active.length === 0 || active[0].active === false) break
        yield* Effect.sleep(100)
      }
      yield* dropSlot(URL, slot).pipe(Effect.ignore)
      yield* sql(`DROP PUBLICATION IF EXISTS ${publication}`)
    })
)

/**
 * The `sources:` block of a workflow: a `postgres-cdc` source `changes` streaming `tables` through
 * the publication and slot of {@link names} (the source creates the publication), with `extra`
 * config keys (`heartbeat_interval: 200ms`).
 */
export const cdcSourceYaml = (
  n: { readonly publication: string; readonly slot: string },
  tables: ReadonlyArray<string>,
  extra: { readonly [key: string]: string } = {}
): string =>
  [
    "sources:",
    "  changes:",
    "    type: postgres-cdc",
    "    config:",
    `      connection_string: "${URL}"`,
    `      publication: ${n.publication}`,
    "      create_publication: true",
    `      slot: ${n.slot}`,
    `      tables: [${tables.map((t) => `"${t}"`).join(", ")}]`,
    ...Object.entries(extra).map(([key, value]) => `      ${key}: ${value}`)
  ].join("\n")

/**
 * A temp directory with `cdc.yaml`: workflow `workflow`, `changes` (postgres-cdc of a fresh table
 * `<schema>.t (id int PRIMARY KEY)`, heartbeat every 200 ms) → NDJSON `out.ndjson`, with the given
 * `execution` line. The schema, the slot and the publication are dropped with the scope (after a
 * finalizer added later, e.g. killing the process, has run).
 */
export const cdcToNdjson = (
  workflow: string,
  prefix: string,
  execution?: string
): Effect.Effect<{ readonly dir: string; readonly schema: string; readonly slot: string; readonly publication: string }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const schema = yield* withSchema(prefix)
    const n = yield* names
    yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY)`)
    const dir = yield* tempDir
    const yaml = [
      `name: ${workflow}`,
      ...(execution === undefined ? [] : [`execution: ${execution}`]),
      cdcSourceYaml(n, [`${schema}.t`], { heartbeat_interval: "200ms" }),
      "destinations:",
      "  out: { type: ndjson, inputs: [changes], config: { path: out.ndjson } }",
      ""
    ].join("\n")
    yield* Effect.promise(() => writeFile(join(dir, "cdc.yaml"), yaml))
    return { dir, schema, ...n }
  })

export const openCdc = (raw: object) => PostgresCdc.open(decode(PostgresCdc.config, { connection_string: URL, ...raw }), context("cdc", 500))

/** Reads until `done` holds for a record (or fails after `seconds`). */
export const readUntil = (
  reader: Connector.SourceReader<ChangeRecord>,
  done: (r: ChangeRecord) => boolean,
  onBatch: (b: Batch.Batch<ChangeRecord>) => Effect.Effect<void, unknown> = () => Effect.void,
  max = 500,
  seconds = 20
) =>
  Effect.gen(function*() {
    const seen: Array<ChangeRecord> = []
    for (let i = 0; i < seconds * 20; i++) {
      const batch = yield* reader.readBatch(max)
      if (batch === undefined) break
      yield* onBatch(batch)
      for (const r of Batch.toArray(batch)) seen.push(r)
      if (seen.some(done)) return seen
    }
    return yield* Effect.die(new Error(`condition not reached; ${seen.length} records read`))
  })


/** The slot's confirmed LSN (`confirmed_flush_lsn`). */
export const confirmed = (slot: string) =>
  Effect.map(
    sql<{ lsn: string }>(`SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`, [slot]),
    (rows) => rows[0].lsn
  )

/**
 * The slot's confirmed LSN once it reaches `lsn` (or what it is after 10 s): a commit sends the
 * standby status update without waiting for the server, which applies it a moment later.
 */
export const confirmedReaching = (slot: string, lsn: string) =>
  Effect.gen(function*() {
    let at = yield* confirmed(slot)
    for (let i = 0; i < 200 && lsnValue(at) < lsnValue(lsn); i++) {
      yield* Effect.sleep(50)
      at = yield* confirmed(slot)
    }
    return lsnValue(at)
  })

/**
 * An output file that takes part in checkpoints, making a file sink exactly-once.
 *
 * Writes append at the tracked length. `preCommit(id)` fsyncs the file and appends
 * `{ id, length, meta }` to a journal next to it (`.<name>.checkpoints`, fsynced). `restore(id)`
 * truncates the file back to the length recorded for checkpoint `id`, discarding what was written
 * after it (a restored run writes it again); `restore(undefined)` starts afresh (empties the file
 * and the journal). A writer whose `restore` was never called starts afresh at its first write.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { constants } from "node:fs"
import { type FileHandle, open, rm } from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import { Effect } from "effect"
import { ConfigurationError, ConnectorError } from "../Errors.ts"
import { fileError } from "./textFile.ts"

/** One journal line. */
interface Entry {
  readonly id: number
  readonly length: number
  readonly meta?: unknown
}

/** The output file of a sink. */
export interface SinkFile {
  /** Bytes in the file. */
  readonly length: () => number
  /** True once the file was restored or started afresh. */
  readonly started: () => boolean
  /** Appends text (as UTF-8) or bytes; returns the bytes written. */
  readonly write: (text: string | Uint8Array) => Effect.Effect<number, ConnectorError>
  readonly sync: Effect.Effect<void, ConnectorError>
  /** Returns the `meta` recorded with checkpoint `id` (undefined for a fresh start). */
  readonly restore: (id: number | undefined) => Effect.Effect<unknown, ConnectorError>
  readonly preCommit: (id: number, meta?: unknown) => Effect.Effect<void, ConnectorError>
}

/** Writes all of `bytes` at `position` (a positional write may write less than asked). */
const writeFully = async (handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> => {
  let done = 0
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done)
    done += bytesWritten
  }
}

/** The journal path of an output file. */
export const journalPath = (path: string): string => join(dirname(path), `.${basename(path)}.checkpoints`)

/** Opens (without truncating) `path` in the current scope. */
export const openSinkFile = (connector: string, path: string) =>
  Effect.gen(function*() {
    const journal = journalPath(path)
    // Read-write, created if missing, never truncated here: `restore` decides what to keep.
    const rw: FileHandle = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => open(path, constants.O_RDWR | constants.O_CREAT, 0o666),
        catch: (e) => fileError(connector, "open", path, e)
      }),
      (h) => Effect.promise(() => h.close()).pipe(Effect.ignore)
    )
    let length = 0
    let started = false
    const io = <A>(operation: string, f: () => Promise<A>, target = path) =>
      Effect.tryPromise({ try: f, catch: (e) => fileError(connector, operation, target, e) })
    const truncate = (to: number) =>
      Effect.gen(function*() {
        yield* io("restore", () => rw.truncate(to))
        yield* io("restore", () => rw.sync())
        length = to
        started = true
      })
    const readJournal = io("restore", async () => {
      const fh = await open(journal, "r").catch((e: unknown) => {
        if (typeof e === "object" && e !== null && "code" in e && e.code === "ENOENT") return undefined
        throw e
      })
      if (fh === undefined) return []
      try {
        const text = await fh.readFile("utf8")
        const entries: Array<Entry> = []
        for (const line of text.split("\n")) {
          if (line.length === 0) continue
          try {
            entries.push(JSON.parse(line) as Entry)
          } catch {
            // a torn last line (crash during preCommit): that checkpoint never completed
          }
        }
        return entries
      } finally {
        await fh.close()
      }
    }, journal)
    const file: SinkFile = {
      length: () => length,
      started: () => started,
      write: (text) =>
        Effect.suspend(() => {
          const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text
          const at = length
          length += bytes.length
          return io("write", () => writeFully(rw, bytes, at)).pipe(Effect.as(bytes.length))
        }),
      sync: io("flush", () => rw.sync()),
      restore: (id) =>
        id === undefined
          ? Effect.andThen(
            io("restore", () => rm(journal, { force: true }), journal),
            Effect.as(truncate(0), undefined)
          )
          : Effect.gen(function*() {
            const entries = yield* readJournal
            const entry = entries.findLast((e) => e.id === id)
            if (entry === undefined) {
              return yield* new ConnectorError({
                connector,
                operation: "restore",
                reason: new ConfigurationError({
                  message: `${path}: checkpoint ${id} is not in ${journal} (was the file or its journal removed?); run with --from-scratch`
                })
              })
            }
            const size = (yield* io("restore", () => rw.stat())).size
            if (size < entry.length) {
              return yield* new ConnectorError({
                connector,
                operation: "restore",
                reason: new ConfigurationError({
                  message: `${path} is shorter (${size} bytes) than at checkpoint ${id} (${entry.length} bytes); run with --from-scratch`
                })
              })
            }
            yield* truncate(entry.length)
            return entry.meta
          }),
      preCommit: (id, meta) =>
        Effect.gen(function*() {
          yield* io("flush", () => rw.sync())
          const line = JSON.stringify(meta === undefined ? { id, length } : { id, length, meta }) + "\n"
          yield* io("preCommit", async () => {
            const fh = await open(journal, "a")
            try {
              await fh.write(line)
              await fh.sync()
            } finally {
              await fh.close()
            }
          }, journal)
        })
    }
    return file
  })

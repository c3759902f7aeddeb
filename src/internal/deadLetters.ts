/**
 * The dead-letter file of a file source (`oversize: dead_letter`, `on_error: dead_letter`): one
 * NDJSON line per record set aside, in the kit's envelope (`DeadLetter.envelope`, context
 * `{ file }`): `{ file, node, at, line, column?, field?, offset?, instance?, head?, error,
 * record }` — where the record is in the input, why it was set aside, and its text (`record`, the
 * raw line cut to 4096 characters, letterText.ts; `null` for a record set aside for being
 * too large, whose first characters are `head` instead).
 *
 * Exactly-once with checkpoints: entries are appended before the batch read with them is handed
 * on; when the source seeks to a checkpointed position, the entries of its records at or after
 * that position (its `line`) are dropped from the file ({@link DeadLetters.rewind}), and a run that
 * does not resume drops all of them before its first read — so after a restore each record set
 * aside is in the file once, like the file sinks' dead letters. A source read in parallel byte
 * ranges writes one file: each entry names its `instance`, and each instance rewinds only its
 * own (appends and rewinds of one file are serialized).
 *
 * The file never grows past `max_bytes`: an input whose records are set aside wholesale fails
 * the run instead of filling the disk.
 */
import { Buffer } from "node:buffer"
import { createReadStream } from "node:fs"
import { access, open, rename, unlink } from "node:fs/promises"
import { createInterface } from "node:readline"
import { resolve } from "node:path"
import { Clock, Effect, Semaphore } from "effect"
import type { Resources, SourceReader } from "../Connector.ts"
import { jsonText } from "../connectors/kit/codecs/json.ts"
import * as DeadLetter from "../connectors/kit/DeadLetter.ts"
import { ConnectorError, RejectedError } from "../Errors.ts"
import { decodePosition } from "./filePosition.ts"
import { recordText } from "./letterText.ts"
import { fileError } from "./textFile.ts"
import { replaceEscapes } from "./utf8.ts"

/** The default of `dead_letter.max_bytes`: 1 GiB. */
export const DEAD_LETTER_MAX_BYTES = DeadLetter.DEAD_LETTER_MAX_BYTES

/** A record set aside. */
export interface SetAside {
  /** The 1-based line where the record starts. */
  readonly line: number
  /** The byte offset where the record starts, when known. */
  readonly offset?: number | undefined
  /** The 1-based column (NDJSON) or field index (CSV) of the error, when known. */
  readonly column?: number | undefined
  /** The field the error is in, when known. */
  readonly field?: string | undefined
  readonly error: string
  /** A record too large to read (`oversize`): its first characters. */
  readonly head?: string | undefined
  /** A malformed record: its text (cut to 4096 characters when written). */
  readonly record?: string | undefined
}

/**
 * What a file source declares (see `Connector.Resources`): it reads its file and, with a
 * dead-letter file, writes that one too — so a sink writing the same file, another node's dead
 * letters there, or a dead-letter file that is some node's input is refused before anything runs.
 */
export const fileSourceResources = (
  config: { readonly path: string; readonly dead_letter?: { readonly path: string } }
): Resources => ({
  reads: [{ kind: "file", name: config.path, key: ["path"] }],
  ...(config.dead_letter !== undefined ? { writes: [{ kind: "file", name: config.dead_letter.path, key: ["dead_letter", "path"] }] } : {})
})

/**
 * Appends entries to the dead-letter file; fails once it would grow past the limit. `rewind`
 * drops this instance's entries at or after `line` (a seek), or all of them (`undefined`: a run
 * that does not resume) — call it before the first append.
 */
export interface DeadLetters {
  (entries: ReadonlyArray<SetAside>): Effect.Effect<void, ConnectorError>
  readonly rewind: (line: number | undefined) => Effect.Effect<void, ConnectorError>
}

/** One lock per dead-letter file: the instances of a source read in parallel share the file. */
const locks = new Map<string, Semaphore.Semaphore>()
const lockOf = (path: string): Semaphore.Semaphore => {
  const key = resolve(path)
  let lock = locks.get(key)
  if (lock === undefined) {
    lock = Semaphore.makeUnsafe(1)
    locks.set(key, lock)
  }
  return lock
}

/** Whether the entry line `text` is to be dropped by a rewind of `instance` (of `count`) to `line`. */
const dropped = (text: string, instance: number, count: number, line: number | undefined): boolean => {
  let entry: { readonly instance?: unknown; readonly line?: unknown }
  try {
    entry = JSON.parse(text) as typeof entry
  } catch {
    // a line cut by a crash mid-append: it is rewritten
    return true
  }
  const of = typeof entry.instance === "number" ? entry.instance : 0
  // entries of a split that no longer exists (an earlier run read the file in more ranges)
  if (of >= count) return true
  return of === instance && (line === undefined || (typeof entry.line === "number" && entry.line >= line))
}

/**
 * Drops the lines of the file at `path` that `drop` says to (a missing file: nothing to do),
 * streaming (the file may be large): the kept lines are written aside and renamed over the file,
 * so a crash leaves the old file or the new one.
 */
const rewindFile = async (path: string, drop: (line: string) => boolean): Promise<void> => {
  let input: ReturnType<typeof createReadStream>
  try {
    await access(path)
    input = createReadStream(path, { encoding: "utf8" })
  } catch (e) {
    if (e !== null && typeof e === "object" && "code" in e && e.code === "ENOENT") return
    throw e
  }
  const aside = `${path}.rewind`
  const out = await open(aside, "w")
  let dropping = 0
  try {
    let kept = ""
    for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      if (line.length === 0) continue
      if (drop(line)) dropping++
      else kept += line + "\n"
      if (kept.length >= 1 << 20) {
        await out.write(kept)
        kept = ""
      }
    }
    if (kept.length > 0) await out.write(kept)
  } finally {
    await out.close()
  }
  // (a last line without its line feed, cut by a crash, would join the next entry: rewritten too)
  if (dropping === 0 && (await endsWithLineFeed(path))) await unlink(aside)
  else await rename(aside, path)
}

/** Whether the file at `path` is empty or ends with a line feed. */
const endsWithLineFeed = async (path: string): Promise<boolean> => {
  const handle = await open(path, "r")
  try {
    const { size } = await handle.stat()
    if (size === 0) return true
    const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, size - 1)
    return buffer[0] === 10
  } finally {
    await handle.close()
  }
}

/**
 * The dead-letter writer of instance `instance` of `count` of a source reading `file` for `node`.
 */
export const deadLetters = (
  connector: string,
  node: string,
  file: string,
  config: { readonly path: string; readonly max_bytes?: number },
  /** Told how many entries were appended (`OpenContext.onDeadLetters`). */
  report?: ((count: number) => void) | undefined,
  split: { readonly instance: number; readonly count: number } = { instance: 0, count: 1 }
): DeadLetters => {
  const max = config.max_bytes ?? DEAD_LETTER_MAX_BYTES
  const lock = lockOf(config.path)
  const append = (entries: ReadonlyArray<SetAside>) =>
    Effect.gen(function*() {
      if (entries.length === 0) return
      const at = new Date(yield* Clock.currentTimeMillis).toISOString()
      let text = ""
      for (const e of entries) {
        const fields = {
          line: e.line,
          ...(e.column !== undefined ? { column: e.column } : {}),
          ...(e.field !== undefined ? { field: e.field } : {}),
          ...(e.offset !== undefined ? { offset: e.offset } : {}),
          ...(split.count > 1 ? { instance: split.instance } : {}),
          ...(e.head !== undefined ? { head: replaceEscapes(e.head) } : {})
        }
        // with invalid_utf8: replace, a record's text as the reader holds it has its bytes that are
        // not UTF-8 escaped (lone surrogates, which no UTF-8 text holds): the entry says U+FFFD, as
        // the records read do
        const record = e.record !== undefined ? recordText(replaceEscapes(e.record)) : null
        const letter = { record, error: e.error, fields }
        text += jsonText(DeadLetter.envelope(node, at, letter, { file })) + "\n"
      }
      const overflow = yield* lock.withPermit(DeadLetter.appendText(connector, config.path, max, text))
      if (overflow !== undefined) {
        return yield* new ConnectorError({
          connector,
          operation: "dead_letter",
          reason: new RejectedError({
            message: `${DeadLetter.overflowText(overflow)} with the record at ${file}:${entries[0].line}: so many records are set aside that the input is probably not what the workflow expects; fix it, or raise dead_letter.max_bytes`
          })
        })
      }
      report?.(entries.length)
    })
  const rewind = (line: number | undefined) =>
    lock.withPermit(Effect.tryPromise({
      try: () => rewindFile(config.path, (entry) => dropped(entry, split.instance, split.count, line)),
      catch: (e) => fileError(connector, "dead_letter", config.path, e)
    }))
  return Object.assign(append, { rewind })
}

/** What a file source sets aside, and where: its {@link DeadLetters} writer. */
export interface FileLetters {
  readonly write: DeadLetters
  /** `oversize: dead_letter`: records over `max_record_bytes`. */
  readonly oversize: boolean
  /** `on_error: dead_letter`: malformed records. */
  readonly malformed: boolean
}

/**
 * The dead letters of a file source's config (`oversize`, `on_error`, `dead_letter`), or
 * `undefined` when it sets nothing aside.
 */
export const fileLetters = (
  connector: string,
  context: { readonly node: string; readonly instance: number; readonly parallelism: number; readonly onDeadLetters?: ((count: number) => void) | undefined },
  config: {
    readonly path: string
    readonly oversize?: "fail" | "dead_letter" | undefined
    readonly on_error?: "fail" | "dead_letter" | undefined
    readonly dead_letter?: { readonly path: string; readonly max_bytes?: number } | undefined
  }
): FileLetters | undefined => {
  const oversize = config.oversize === "dead_letter"
  const malformed = config.on_error === "dead_letter"
  if (config.dead_letter === undefined || (!oversize && !malformed)) return undefined
  const write = deadLetters(connector, context.node, config.path, config.dead_letter, context.onDeadLetters, {
    instance: context.instance,
    count: context.parallelism
  })
  return { write, oversize, malformed }
}

/**
 * `reader` keeping its dead-letter file in step with its positions: a seek rewinds the file to
 * the position's line, and the first read of a run that did not seek starts it afresh (see the
 * module doc). Without `letters`, `reader` itself.
 */
export const rewinding = <A>(reader: SourceReader<A>, letters: FileLetters | undefined): SourceReader<A> => {
  if (letters === undefined) return reader
  let rewound = false
  const start = Effect.suspend(() => (rewound ? Effect.void : Effect.map(letters.write.rewind(undefined), () => {
    rewound = true
  })))
  return {
    ...reader,
    readBatch: (max) => (rewound ? reader.readBatch(max) : Effect.andThen(start, reader.readBatch(max))),
    seek: (raw) =>
      Effect.andThen(
        reader.seek(raw),
        Effect.suspend(() => {
          rewound = true
          // the entries of the records from the position on are written again as they are read again
          return letters.write.rewind(decodePosition(raw)?.line ?? 1)
        })
      )
  }
}

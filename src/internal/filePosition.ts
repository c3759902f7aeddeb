/**
 * Positions of the file sources (`csv`, `ndjson`): the byte offset and 1-based line of the next
 * unread record, read back from a stored position when a source seeks; and the file's identity
 * kept with each checkpointed position, checked before a run resumes (see {@link checkRestore}).
 */
import { createHash } from "node:crypto"
import { access, constants, open, stat } from "node:fs/promises"
import { Effect, Schema } from "effect"
import { RestoreError } from "../Checkpoint.ts"
import type { SourceRestoreContext } from "../Connector.ts"
import * as Positions from "../connectors/kit/Positions.ts"
import type { ConnectorError } from "../Errors.ts"
import { fileError } from "./textFile.ts"

/**
 * A position of the `csv` and `ndjson` sources: the byte offset and 1-based line of the next
 * unread record.
 *
 * @category models
 * @since 0.1.0
 */
export interface FilePosition {
  readonly offset: number
  readonly line: number
}

/**
 * Reads a {@link FilePosition} back from a stored position (`undefined` when it is not one): the
 * kit's `Positions.FileOffset` Schema.
 *
 * @category positions
 * @since 0.1.0
 */
export const decodePosition = (position: unknown): FilePosition | undefined => {
  const result = Positions.decode(Positions.FileOffset, position)
  return result.ok ? result.value : undefined
}

/**
 * The position Schema of a file source (`SourceDefinition.position`): a {@link FilePosition},
 * with the byte range of the instance when the source reads the file in parallel.
 *
 * @category positions
 * @since 0.4.0
 */
export const FilePositionSchema = Schema.Struct({
  offset: Positions.Offset,
  line: Positions.Line,
  range: Schema.optionalKey(Schema.Struct({ index: Positions.Offset, count: Positions.Line }))
})

/**
 * The position a `seek` of `connector` goes to, or its error for a value that is not a file
 * position (`what` names the expected position in the message, e.g. "a csv position").
 */
export const seekTarget = (connector: string, what: string, raw: unknown): Effect.Effect<FilePosition, ConnectorError> =>
  Effect.map(Positions.decoder(connector, Positions.FileOffset, what)(raw), ({ line, offset }) => ({ offset, line }))

/**
 * What a checkpoint keeps about a file beside a position in it: its size and inode then, and
 * hashes of the bytes a resume relies on — the first `span` bytes (the header, the start of the
 * data) and the last `span` bytes before the position. A file that was only appended to keeps
 * both; a replaced, rewritten or truncated one does not, whatever its size or modification time
 * (which an append changes, and a copy with `cp -p` keeps).
 *
 * @category models
 * @since 0.1.0
 */
export interface FileIdentity {
  readonly size: number
  readonly ino: number
  readonly span: number
  readonly head: string
  readonly tail: string
}

/** How many bytes each hash of a {@link FileIdentity} covers (at most). */
const SPAN = 4096

const hashOf = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex").slice(0, 32)

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
const readAt = async (path: string, offset: number, length: number): Promise<Uint8Array> => {
  const handle = await open(path, "r")
  try {
    const buffer = Buffer.alloc(length)
    let got = 0
    while (got < length) {
      const { bytesRead } = await handle.read(buffer, got, length - got, offset + got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    return buffer.subarray(0, got)
  } finally {
    await handle.close()
  }
}

const measure = async (path: string, offset: number): Promise<FileIdentity> => {
  const info = await stat(path)
  const span = Math.min(SPAN, offset)
  const head = await readAt(path, 0, span)
  const tail = await readAt(path, offset - span, span)
  return { size: info.size, ino: info.ino, span, head: hashOf(head), tail: hashOf(tail) }
}

/**
 * The identity of the file at `path` for a stored position (`undefined` when it is not a file
 * position): a source's `identify`.
 *
 * @category positions
 * @since 0.1.0
 */
export const identify = (connector: string, path: string, raw: unknown): Effect.Effect<FileIdentity | undefined, ConnectorError> => {
  const position = decodePosition(raw)
  if (position === undefined) return Effect.succeed(undefined)
  return Effect.tryPromise({ try: () => measure(path, position.offset), catch: (e) => fileError(connector, "identify", path, e) })
}

const decodeIdentity = (value: unknown): FileIdentity | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const v = value as { readonly [k: string]: unknown }
  return typeof v.size === "number" && typeof v.ino === "number" && typeof v.span === "number" && typeof v.head === "string" &&
      typeof v.tail === "string"
    ? { size: v.size, ino: v.ino, span: v.span, head: v.head, tail: v.tail }
    : undefined
}

/**
 * What every file source's definition says about its input file `config.path`: `check` (the
 * file is readable), `identify` and `checkRestore` (the file's identity is kept with each
 * position; a resume refuses a replaced file).
 *
 * @category positions
 * @since 0.5.0
 */
export const fileSourceChecks = <C extends { readonly path: string }>(connector: string) => ({
  check: (config: C): Effect.Effect<void, ConnectorError> =>
    Effect.tryPromise({ try: () => access(config.path, constants.R_OK), catch: (e) => fileError(connector, "check", config.path, e) }),
  identify: (config: C, position: unknown) => identify(connector, config.path, position),
  checkRestore: (config: C, context: SourceRestoreContext) => checkRestore(connector, config.path, context)
})

/**
 * A file source's `checkRestore`: refuses a restored position when the file at `path` is gone,
 * shorter than the position, or holds other bytes before it than when the checkpoint was taken
 * (replaced, rewritten or truncated). An appended file passes: the resume reads what was added.
 *
 * @category positions
 * @since 0.1.0
 */
export const checkRestore = (
  connector: string,
  path: string,
  context: SourceRestoreContext
): Effect.Effect<void, RestoreError | ConnectorError> =>
  Effect.gen(function*() {
    const position = decodePosition(context.position)
    if (position === undefined) return
    const refuse = (reason: string) =>
      new RestoreError({
        node: context.node,
        checkpoint: context.checkpoint,
        reason: `the input file ${path} ${reason}; resuming at byte ${position.offset} (line ${position.line}) would skip or misread records`,
        remedy: "run with --from-scratch to read it from the start (or put the original file back to resume)"
      })
    const size = yield* Effect.tryPromise({
      try: () => stat(path).then((s) => s.size, (e: unknown) => (hasCode(e, "ENOENT") ? undefined : Promise.reject(e))),
      catch: (e) => fileError(connector, "identify", path, e)
    })
    if (size === undefined) return yield* refuse("no longer exists")
    if (size < position.offset) {
      return yield* refuse(`is ${size} bytes long, shorter than the ${position.offset} bytes checkpoint ${context.checkpoint} had read (it was truncated or replaced)`)
    }
    const saved = decodeIdentity(context.input)
    if (saved === undefined) return // a checkpoint written before identities were kept: only the size can be checked
    const now = yield* Effect.tryPromise({ try: () => measure(path, position.offset), catch: (e) => fileError(connector, "identify", path, e) })
    if (now.head !== saved.head) return yield* refuse(`was replaced or rewritten (its first ${saved.span} bytes differ from when checkpoint ${context.checkpoint} was taken)`)
    if (now.tail !== saved.tail) return yield* refuse(`was rewritten (the ${saved.span} bytes before the saved position differ from when checkpoint ${context.checkpoint} was taken)`)
    // a file read in byte ranges split by its size: another size moves the ranges under the positions
    if (isRangePosition(context.position) && now.size !== saved.size) {
      return yield* new RestoreError({
        node: context.node,
        checkpoint: context.checkpoint,
        reason: `the input file ${path} changed size (${saved.size} → ${now.size} bytes) since the checkpoint; it is read in ${context.parallelism} byte ranges split by its size, so a resume would read some records twice and skip others`,
        remedy: "run with --from-scratch, or resume with the source at parallelism 1 before appending"
      })
    }
    // the last record read ended at the end of the file (then) without a line break: what was
    // appended since continues it (`12` + `34\n` is the record `1234`, which was read as `12`), unless the
    // appended text starts with the line break that ends it
    if (position.offset > 0 && saved.size === position.offset && now.size > position.offset) {
      const around = yield* Effect.tryPromise({
        try: () => readAt(path, position.offset - 1, 3),
        catch: (e) => fileError(connector, "identify", path, e)
      })
      if (continuesLastRecord(around)) {
        return yield* refuse(
          `was appended to right after its last record, which had no line break when checkpoint ${context.checkpoint} was taken: ` +
            `the appended text (from byte ${position.offset}) continues the record that ends on line ${position.line - 1}, which was read without it`
        )
      }
    }
  })

const LF = 0x0a
const CR = 0x0d

/**
 * Whether the bytes around a saved position (the byte before it, then the first two at it) show
 * appended text that continues the record before the position: that record did not end with a
 * line feed, and the appended text does not start with one (or with CR LF).
 */
const continuesLastRecord = (around: Uint8Array): boolean =>
  around[0] !== LF && around[1] !== LF && !(around[1] === CR && around[2] === LF)

/** A position of a file read in parallel byte ranges (`{ offset, line, range }`). */
const isRangePosition = (raw: unknown): boolean => typeof raw === "object" && raw !== null && "range" in raw

const hasCode = (error: unknown, code: string): boolean =>
  typeof error === "object" && error !== null && "code" in error && error.code === code

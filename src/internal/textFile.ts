/**
 * Reading a UTF-8 file as text in chunks: one reused Buffer, a streaming decoder that keeps a
 * multi-byte character split across chunks for the next one, and an explicit file position so a
 * reader can be repositioned. Never holds more than one chunk of bytes.
 *
 * With `invalid_utf8: error` (see utf8.ts) the text ends before the first byte that is not UTF-8
 * text: `read` then returns `undefined` as at the end of the file, and `invalid` says where and
 * what the byte is, so the reader can tell the two apart and name the record.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import type { FileHandle } from "node:fs/promises"
import { open } from "node:fs/promises"
import { Effect } from "effect"
import { ConfigurationError, ConnectionError, ConnectorError, RejectedError } from "../Errors.ts"
import { chunkDecoder, type InvalidUtf8 } from "./utf8.ts"

/**
 * Bytes read per chunk. Small enough that a decoded chunk (plus the partial line carried over)
 * stays under V8's large-object size (128 KB): the string is then allocated young and dies young.
 * With 256 KB chunks every chunk's text went straight to the old generation, which filled with
 * the file's whole text between major collections: a 20 M-row CSV run peaked 45–55 MB higher and
 * ran 10–15 % slower (bench scenario 5 and a 10 M-row CSV → filter → NDJSON run).
 */
export const CHUNK_SIZE = 64 * 1024

/** An open file read as text. */
export interface TextFile {
  /** The next decoded chunk, or `undefined` at the end of the file. */
  readonly read: Effect.Effect<string | undefined, ConnectorError>
  /** Continue reading at a byte offset. */
  readonly reposition: (offset: number) => void
  /**
   * Why `read` returned `undefined` before the end of the file: the file offset of the first byte
   * that is not text and what it is; `undefined` at the real end (and always with `replace`).
   */
  readonly invalid: () => { readonly offset: number; readonly detail: string } | undefined
  /** Whether text read holds escaped bytes (`invalid_utf8: replace`; see utf8.ts). */
  readonly escaped: () => boolean
}

/** Classifies a file system error. */
export const fileError = (connector: string, operation: string, path: string, cause: unknown): ConnectorError => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : ""
  const text = cause instanceof Error ? cause.message : String(cause)
  const reason = code === "ENOENT"
    ? new ConfigurationError({ message: `no such file: ${path}`, cause })
    : code === "EACCES" || code === "EPERM" || code === "EISDIR" || code === "ENOTDIR"
    ? new RejectedError({ message: `${path}: ${text}`, cause })
    : new ConnectionError({ message: `${path}: ${text}`, cause })
  return new ConnectorError({ connector, operation, reason })
}

/** Opens `path` for reading in the current scope (closed when the scope closes). */
export const openTextFile = (
  connector: string,
  path: string,
  invalidUtf8: InvalidUtf8,
  chunkSize: number = CHUNK_SIZE
) =>
  Effect.gen(function*() {
    const handle: FileHandle = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => open(path, "r"), catch: (e) => fileError(connector, "open", path, e) }),
      (h) => Effect.promise(() => h.close()).pipe(Effect.ignore)
    )
    const buffer = Buffer.allocUnsafe(chunkSize)
    let decoder = chunkDecoder(invalidUtf8)
    /** File offset of the first byte given to `decoder`. */
    let decoderStart = 0
    let position = 0
    let done = false
    const read: Effect.Effect<string | undefined, ConnectorError> = Effect.suspend(() => {
      if (done) return Effect.succeed(undefined)
      return Effect.tryPromise({
        try: () => handle.read(buffer, 0, chunkSize, position),
        catch: (e) => fileError(connector, "read", path, e)
      }).pipe(Effect.map(({ bytesRead }) => {
        if (bytesRead === 0) {
          done = true
          const rest = decoder.end()
          return rest.length > 0 ? rest : undefined
        }
        position += bytesRead
        const text = decoder.write(buffer.subarray(0, bytesRead))
        if (decoder.invalidAt() >= 0) {
          done = true
          return text.length > 0 ? text : undefined
        }
        return text
      }))
    })
    const textFile: TextFile = {
      read,
      reposition: (offset) => {
        position = offset
        done = false
        decoder = chunkDecoder(invalidUtf8)
        decoderStart = offset
      },
      invalid: () => {
        const at = decoder.invalidAt()
        return at < 0 ? undefined : { offset: decoderStart + at, detail: decoder.invalidDetail() }
      },
      escaped: () => decoder.escaped()
    }
    return textFile
  })

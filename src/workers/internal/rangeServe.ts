/**
 * The request loop of a range thread (`csvRange.ts`, `ndjsonRange.ts`): opens the thread's reader
 * (which publishes where the range starts), then answers each `Read` with one batch and each
 * `Seek` by moving the reader; a failure is sent as data and repeated for every later read. No
 * Effect here, and no side effect on import.
 */
import * as NodeModule from "node:module"
import { parentPort } from "node:worker_threads"
import { failureOf, type RangeFailure, type RangeReply, type RangeRequest } from "../../connectors/kit/internal/rangeProtocol.ts"

/** A batch reply without its request id. */
export type RangeAnswer = Omit<Extract<RangeReply, { readonly _tag: "Batch" }>, "id">

/** What a thread's reader does for the loop. */
export interface RangeServer {
  readonly seek: (offset: number, line: number) => void
  /** The batch of up to `max` records, and the buffers it hands over (transferred, not copied). */
  readonly read: (max: number) => { readonly answer: RangeAnswer; readonly transfer: ReadonlyArray<ArrayBuffer> }
}

/**
 * Serves the range: `open` makes the reader (sending `Start` through `send` first, before anything
 * slow); `onOpenFailure` runs when it throws (before the failure is sent).
 */
export const serveRange = (open: (send: (reply: RangeReply) => void) => RangeServer, onOpenFailure?: () => void): void => {
  // compiled code of what the thread loads is kept on disk, as the CLI does for itself
  // (NODE_DISABLE_COMPILE_CACHE=1 turns it off)
  NodeModule.enableCompileCache?.()
  const port = parentPort
  if (port === null) return
  const send = (reply: RangeReply): void => port.postMessage(reply)
  let failure: RangeFailure | undefined
  let server: RangeServer | undefined
  try {
    server = open(send)
  } catch (e) {
    failure = failureOf(e)
    onOpenFailure?.()
    send({ _tag: "Failed", id: 0, failure })
  }
  port.on("message", (request: RangeRequest) => {
    if (failure === undefined && server !== undefined) {
      try {
        if (request._tag === "Seek") {
          server.seek(request.offset, request.line)
          return
        }
        const { answer, transfer } = server.read(request.max)
        return port.postMessage({ ...answer, id: request.id } satisfies RangeReply, [...transfer])
      } catch (e) {
        failure = failureOf(e)
      }
    }
    if (request._tag === "Read") send({ _tag: "Failed", id: request.id, failure: failure! })
  })
}

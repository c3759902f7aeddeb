/**
 * Dead letters of message sources (`nats`, `rabbitmq`, `mqtt`): a payload that does not decode
 * is set aside (`on_error: dead_letter`) in the kit's dead-letter file ({@link DeadLetter}) with
 * the message's identity (sequence, delivery number, message id, topic...) instead of failing the
 * run. What stays each connector's part: acknowledging the message set aside only together with
 * the next message handed on, so only after the checkpoint covering its dead-letter entry.
 *
 * - {@link writer}: the node's dead-letter writer, or `undefined` with `on_error: fail` (the
 *   default: the decode error fails the run, naming the message).
 * - {@link letter}: the envelope of a payload: the whole payload as text (`{ base64 }` when it is
 *   not UTF-8), the reason, and the message's identity fields.
 * - {@link SetAside}: the messages set aside since the last one handed on, attached to the next
 *   one's handle (acknowledge them with it).
 * - {@link InOrder}: runs a push client's message callbacks one after another although setting a
 *   message aside is asynchronous (a file append), so records, dead letters and acknowledgements
 *   keep the broker's order. Synchronous while nothing is pending: no cost for good messages.
 *
 * @since 0.4.0
 */
import { Effect } from "effect"
import type { ConnectorError, RecordError } from "../../Errors.ts"
import * as Codecs from "./codecs/index.ts"
import * as DeadLetter from "./DeadLetter.ts"

/**
 * The node's dead-letter writer when `on_error` is `dead_letter`, else `undefined`.
 *
 * @category constructors
 * @since 0.4.0
 */
export const writer = (options: {
  readonly connector: string
  readonly node: string
  readonly config: DeadLetter.ErrorHandling
  readonly report?: ((count: number) => void) | undefined
}): DeadLetter.Writer | undefined =>
  DeadLetter.ofNode({ connector: options.connector, open: { node: options.node, onDeadLetters: options.report }, config: options.config })

/**
 * The dead letter of a payload that did not decode: the payload as text (or `{ base64 }`), the
 * reason, and `fields` naming the message (they go into the envelope next to `node` and `at`).
 *
 * @category constructors
 * @since 0.4.0
 */
export const letter = (payload: Uint8Array, error: RecordError, fields: { readonly [key: string]: unknown }): DeadLetter.Letter => ({
  record: Codecs.toText(payload) ?? { base64: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("base64") },
  error: error.message,
  fields
})

/**
 * Writes one letter; `undefined` when written, else the failure (the file would grow past
 * `max_bytes`, or cannot be written) — for a client callback, which cannot run an Effect itself.
 *
 * @category writing
 * @since 0.4.0
 */
export const write = (
  letters: DeadLetter.Writer,
  one: DeadLetter.Letter
): Promise<ConnectorError | RecordError | undefined> =>
  Effect.runPromise(Effect.match(letters([one]), { onFailure: (e) => e, onSuccess: () => undefined }))

/**
 * The messages set aside (their acknowledgement handles `S`) since the last one handed on.
 *
 * @category models
 * @since 0.4.0
 */
export class SetAside<S> {
  private items: Array<S> = []

  /**
   * Writes the letter of a message; once written, `item` waits for the next message handed on
   * ({@link attach}); a failure (an overflow, a file that cannot be written) goes to `fail`.
   */
  write(letters: DeadLetter.Writer, one: DeadLetter.Letter, item: S, fail: (error: ConnectorError | RecordError) => void): Promise<void> {
    return write(letters, one).then((failure) => {
      if (failure === undefined) this.items.push(item)
      else fail(failure)
    })
  }

  /** A message whose letter is written (by the caller): it waits for the next message handed on. */
  add(item: S): void {
    this.items.push(item)
  }

  /** `handle` with the messages set aside before it (`setAside`), which are acknowledged with it. */
  attach<H extends object>(handle: H): H & { readonly setAside?: ReadonlyArray<S> } {
    if (this.items.length === 0) return handle
    const setAside = this.items
    this.items = []
    return { ...handle, setAside }
  }
}

/**
 * Runs callbacks in arrival order: at once while no earlier one is still running, else after it.
 *
 * @category models
 * @since 0.4.0
 */
export class InOrder {
  private tail: Promise<void> | undefined

  /** Runs `f` now, or after the callbacks still pending. */
  run(f: () => void | Promise<void>): void {
    if (this.tail === undefined) {
      const result = f()
      if (result !== undefined) this.chain(result)
      return
    }
    this.chain(this.tail.then(f))
  }

  private chain(next: Promise<void>): void {
    // a callback that throws is its own to report: the next ones still run
    const done = () => {
      if (this.tail === tail) this.tail = undefined
    }
    const tail: Promise<void> = next.then(done, done)
    this.tail = tail
  }
}

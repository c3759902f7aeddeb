/**
 * Recognizing redelivered messages after a restore, for brokers whose delivery ids do not survive
 * the connection they were given on (RabbitMQ delivery tags, MQTT packet ids). Such a source
 * acknowledges a message only after the checkpoint covering it completed; a crash between that
 * checkpoint and the broker processing the acknowledgement makes the broker deliver the message
 * again (flagged: RabbitMQ's `redelivered`, MQTT's `DUP`), although the restored sink already
 * holds it.
 *
 * The window keeps a digest of every message delivered on this connection whose acknowledgement
 * the broker has not confirmed yet (at most the broker's unacknowledged window: `prefetch`,
 * `receive_maximum`), and the position of a batch lists the digests of those the batch covers.
 * After a restore, a message the broker flags as redelivered whose digest is in the restored list
 * is dropped (and acknowledged with the others): it reached the sinks before the crash. Digests
 * are counted (two equal messages delivered twice are dropped at most twice), and a message
 * not flagged as redelivered is never dropped. What this cannot recognize: a message the broker
 * hands to another consumer of the same queue, or redelivers after the digests were forgotten
 * (they are carried until matched, at most {@link MAX_CARRIED} of them).
 *
 * @since 0.4.0
 */
import { createHash, randomUUID } from "node:crypto"
import { Schema } from "effect"
import { Offset } from "./Positions.ts"

/**
 * The most digests of a restored position that are carried on, unmatched, into later positions.
 *
 * @category constants
 * @since 0.4.0
 */
export const MAX_CARRIED = 100_000

/**
 * The position of a source using a {@link RedeliveryWindow}: the connection it was taken on, the
 * number of messages delivered on it up to the batch, and the digests of the covered messages
 * the broker may still deliver again. The source's position Schema (`position(config)` of its
 * definition): the runtime refuses a stored position that is not one before anything opens.
 *
 * @category schemas
 * @since 0.4.0
 */
export const RedeliveryPosition = Schema.Struct({
  session: Schema.String,
  delivered: Offset,
  redeliverable: Schema.Array(Schema.String)
})

/**
 * @category schemas
 * @since 0.4.0
 */
export type RedeliveryPosition = {
  readonly session: string
  readonly delivered: number
  readonly redeliverable: ReadonlyArray<string>
}

/**
 * A digest of a message's identity: everything the source hands on of it (payload, routing
 * key or topic, message id), 96 bits.
 *
 * @category constructors
 * @since 0.4.0
 */
export const digest = (parts: ReadonlyArray<string | Uint8Array>): string => {
  const hash = createHash("md5")
  for (const part of parts) {
    hash.update(typeof part === "string" ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength))
    hash.update("\u0000")
  }
  return hash.digest("base64url").slice(0, 16)
}

interface Entry {
  readonly seq: number
  readonly digest: string
  /** 0 while not acknowledged, then the number of the acknowledgement round it was sent in. */
  acked: number
}

/**
 * The window of one connection.
 *
 * @category models
 * @since 0.4.0
 */
export class RedeliveryWindow {
  /** A fresh id per connection. */
  readonly session: string = randomUUID()
  private entries: Array<Entry> = []
  private head = 0
  private seq = 0
  private round = 0
  private restored = new Map<string, number>()
  private carried = 0
  private readonly bySeq = new Map<number, Entry>()
  /** The last message handed on (its `seq`), `undefined` before the first batch after a restore. */
  private last: number | undefined = 0
  private restoredAt: RedeliveryPosition | undefined

  /**
   * Registers a delivered message; returns its sequence number, and whether it is a redelivery
   * of a message the restored checkpoint covers (then do not hand it on: acknowledge it with
   * {@link acknowledged} at once).
   */
  deliver(digest: string, redelivered: boolean): { readonly seq: number; readonly duplicate: boolean } {
    const seq = ++this.seq
    const entry: Entry = { seq, digest, acked: 0 }
    this.entries.push(entry)
    this.bySeq.set(seq, entry)
    let duplicate = false
    if (redelivered) {
      const n = this.restored.get(digest)
      if (n !== undefined) {
        duplicate = true
        this.carried--
        if (n <= 1) this.restored.delete(digest)
        else this.restored.set(digest, n - 1)
      }
    }
    return { seq, duplicate }
  }

  /** The position after the message numbered `seq` (the last one handed on). */
  position(seq: number): RedeliveryPosition {
    const redeliverable: Array<string> = []
    for (let i = this.head; i < this.entries.length && this.entries[i].seq <= seq; i++) redeliverable.push(this.entries[i].digest)
    for (const [d, n] of this.restored) for (let k = 0; k < n; k++) redeliverable.push(d)
    return { session: this.session, delivered: seq, redeliverable }
  }

  /**
   * The mark of the batch ending with message `seq`: `{ session, delivered }`, what the buffered
   * source keys its commits by and batches carry as their origin — cheap, where a whole
   * {@link position} costs a digest per message of the window. The reader's `position` (what a
   * checkpoint stores) is {@link current}; a commit finds its batches by {@link markOf}.
   */
  mark(seq: number): { readonly session: string; readonly delivered: number } {
    this.last = seq
    return { session: this.session, delivered: seq }
  }

  /** The mark of a (checkpointed) position. */
  markOf(position: RedeliveryPosition): { readonly session: string; readonly delivered: number } {
    return { session: position.session, delivered: position.delivered }
  }

  /** The position after the last batch handed on (the restored one before the first batch after a restore). */
  current(): RedeliveryPosition {
    return this.last === undefined && this.restoredAt !== undefined ? this.restoredAt : this.position(this.last ?? 0)
  }

  /** Takes the digests of a restored position: their redeliveries are dropped. */
  restore(position: RedeliveryPosition): void {
    this.last = undefined
    this.restoredAt = position
    this.restored.clear()
    this.carried = 0
    for (const d of position.redeliverable) {
      if (this.carried >= MAX_CARRIED) break
      this.restored.set(d, (this.restored.get(d) ?? 0) + 1)
      this.carried++
    }
  }

  /**
   * The acknowledgements of the messages numbered `seqs` are being sent: returns the round to
   * pass to {@link confirm} once the broker answered a request sent after them. Their digests
   * stay in positions until then.
   */
  acknowledged(seqs: ReadonlyArray<number>): number {
    const round = ++this.round
    for (const s of seqs) {
      const e = this.bySeq.get(s)
      if (e !== undefined && e.acked === 0) {
        e.acked = round
        this.bySeq.delete(s)
      }
    }
    return round
  }

  /** The broker processed every acknowledgement sent up to `round`: forget those digests. */
  confirm(round: number): void {
    while (this.head < this.entries.length && this.entries[this.head].acked !== 0 && this.entries[this.head].acked <= round) this.head++
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
  }

  /** Digests kept (delivered and not confirmed, plus restored ones not yet matched). */
  size(): number {
    return this.entries.length - this.head + this.carried
  }
}

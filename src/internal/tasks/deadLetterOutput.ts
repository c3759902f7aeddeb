/**
 * Dead letters sent to a destination (`dead_letter: { to: <sink> }`): the records a processor
 * sets aside go, as envelopes, to the channels of that sink — the node's dead-letter port (see
 * `deadLetterPort`) — in the data flow, ahead of the barrier that follows their batch. The
 * destination writes them under its own guarantee: with an exactly-once sink (postgres), a
 * restore discards the envelopes written after the checkpoint and the replay sends them again,
 * so each one is in the destination once.
 *
 * The envelope is the kit's `DeadLetter.destinationEnvelope`, one fixed shape (a table has one
 * column per field): `{ node, at, tag, source, position, error, detail, record }` — `source` and
 * `position` are `null` for a batch that came from no source position.
 */
import { Clock, Effect } from "effect"
import * as Batch from "../../Batch.ts"
import * as DeadLetter from "../../connectors/kit/DeadLetter.ts"
import { type Inbound, sendAll } from "../channel.ts"
import type { NodeCounters } from "./context.ts"
import type { LetterWriter } from "./transform.ts"

/** The letter writer of `node` sending its envelopes to `targets` (counted on `counters`). */
export const destinationWriter = (node: string, targets: ReadonlyArray<Inbound>, counters: NodeCounters): LetterWriter => (letters, batch) =>
  Effect.gen(function*() {
    if (letters.length === 0) return
    const at = new Date(yield* Clock.currentTimeMillis).toISOString()
    const envelopes = letters.map((l) => DeadLetter.destinationEnvelope(node, at, l))
    yield* sendAll(targets, Batch.withRecords(batch, envelopes))
    counters.deadLetters += letters.length
  })

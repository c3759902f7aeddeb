/**
 * The replication stream of the `postgres-cdc` source: one `pg-logical-replication` connection
 * streaming a slot, each change handed to the connector's buffer as soon as it is decoded (the
 * kit's buffered source: a transaction is never held whole, so memory stays bounded whatever its
 * size), paused and resumed by that buffer (flow control), and the confirmed LSN.
 *
 * - Every change comes with a {@link ChangeHandle}: its transaction (commit LSN), its index in
 *   it, and for the last one the transaction's end LSN — the only places a position may be taken
 *   after. The last change is held back until the commit message says it is the last.
 * - `delivered` is the end LSN of the last transaction read whole (the connector moves it);
 *   `committed` the LSN confirmed to the server, moved only by {@link ChangeStream.commit} (after a
 *   checkpoint covering it completed) — or, when everything received has been committed and
 *   nothing else is pending (`busy()` false: no snapshot being read, nothing buffered), by an empty
 *   transaction or a keepalive, so an idle slot follows the server's WAL instead of holding it.
 * - {@link ChangeStream.skipTo}: after a restore from a position inside a transaction, the first
 *   `count` changes of that transaction (read before the checkpoint) are not handed over again.
 * - A value that does not decode, a server error, or the server ending the stream is kept in
 *   `error` for the next read to report.
 */
import type { Redacted } from "effect"
import { LogicalReplicationService, type Pgoutput } from "pg-logical-replication"
import { pgConfig } from "./client.ts"
import {
  type Change,
  lsnValue,
  maxLsn,
  normalizeLsn,
  type SlotCreated,
  SlotPlugin,
  type TransactionAssembler
} from "./replication.ts"

/** What the buffer keeps of a change to make positions and confirm the LSN. */
export interface ChangeHandle {
  /** The commit LSN of the change's transaction. */
  readonly tx: string
  /** The change's index among the (kept) changes of its transaction. */
  readonly index: number
  /** The transaction's end LSN on its last change (a boundary), `null` on the others. */
  readonly end: string | null
}

/** What {@link ChangeStream} needs. */
export interface ChangeStreamOptions {
  readonly connectionString: Redacted.Redacted<string>
  readonly publication: string
  readonly slot: string
  /** Hands a change over to the buffer (which calls {@link ChangeStream.pause} when full). */
  readonly offer: (change: Change, handle: ChangeHandle) => void
  readonly assembler: TransactionAssembler
  /** Looks up column types (by OID) before the rows of a relation are decoded. */
  readonly resolveTypes: (oids: ReadonlyArray<number>) => Promise<void>
  /** True while something (a snapshot, buffered changes) must be delivered before the stream may confirm on its own. */
  readonly busy: () => boolean
}

/** A slot to create before streaming. */
export interface SlotToCreate {
  readonly temporary: boolean
  readonly exportSnapshot: boolean
  /** With `exportSnapshot`: streaming starts once this resolves (the snapshot has been imported). */
  readonly imported: Promise<void>
}

/** The replication stream of one slot (see the module doc). */
export class ChangeStream {
  delivered: string | null = null
  committed: string | null = null
  error: unknown = undefined
  private service: LogicalReplicationService | undefined = undefined
  /** The last change received, held until the next message says whether it ends its transaction. */
  private held: Change | undefined = undefined
  private heldIndex = 0
  /** The transaction being received and the index of its next change. */
  private tx: string | undefined = undefined
  private index = 0
  private skip: { readonly tx: string; readonly count: number } | undefined = undefined
  private isPaused = false
  private waiters: Array<() => void> = []
  private readonly options: ChangeStreamOptions

  constructor(options: ChangeStreamOptions) {
    this.options = options
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  private idle(): boolean {
    return !this.options.assembler.open && this.held === undefined && !this.options.busy() &&
      (this.delivered === null || (this.committed !== null && lsnValue(this.delivered) <= lsnValue(this.committed)))
  }

  private async onData(s: LogicalReplicationService, message: Pgoutput.Message): Promise<void> {
    // messages of a stream stopped (by a seek) are not handed over
    if (this.error !== undefined || this.service !== s) return
    try {
      // A relation message comes before the rows that use it: its column types are known in time.
      if (message.tag === "relation") await this.options.resolveTypes(message.columns.map((c) => c.typeOid))
      const out = this.options.assembler.push(message)
      if (out !== undefined && "op" in out) this.hold(out)
      else if (out !== undefined) {
        const last = this.held
        this.held = undefined
        this.tx = undefined
        if (this.skip !== undefined && lsnValue(out.commitLsn) >= lsnValue(this.skip.tx)) this.skip = undefined
        if (last !== undefined) this.options.offer(last, { tx: last.lsn, index: this.heldIndex, end: out.endLsn })
        else if (this.idle()) this.delivered = this.committed = maxLsn(this.committed, out.endLsn)
      }
    } catch (e) {
      this.error ??= e
      return
    }
    if (this.isPaused) await new Promise<void>((resolve) => this.waiters.push(resolve))
  }

  /** Hands the change held over (it is not the last of its transaction) and holds `change`. */
  private hold(change: Change): void {
    if (change.lsn !== this.tx) {
      this.tx = change.lsn
      this.index = 0
    }
    const index = this.index++
    if (this.skip !== undefined && this.skip.tx === change.lsn && index < this.skip.count) return
    const previous = this.held
    if (previous !== undefined) this.options.offer(previous, { tx: previous.lsn, index: this.heldIndex, end: null })
    this.held = change
    this.heldIndex = index
  }

  /** Stops handling messages until {@link ChangeStream.resume} (the buffer is full). */
  pause(): void {
    this.isPaused = true
  }

  /** Handles messages again. */
  resume(): void {
    this.isPaused = false
    this.wake()
  }

  /** After a restore inside transaction `tx` (a commit LSN): its first `count` changes were read already. */
  skipTo(partial: { readonly tx: string; readonly count: number } | undefined): void {
    this.skip = partial
  }

  // With flow control, data messages wait in the library's queue while keepalives are emitted at
  // once: a keepalive may overtake changes not yet handled, so it only advances the confirmed LSN
  // when that queue is empty (bracket access: the fields are private in its typings).
  private static drained(s: LogicalReplicationService): boolean {
    const queue: unknown = s["_messageQueue"]
    const processing: unknown = s["_processing"]
    return Array.isArray(queue) && queue.length === 0 && processing !== true
  }

  private readonly onKeepalive = (lsn: string, _ts: number, shouldRespond: boolean): void => {
    const s = this.service
    if (s === undefined) return
    if (this.idle() && ChangeStream.drained(s) && this.committed !== null && lsnValue(lsn) > lsnValue(this.committed)) {
      this.delivered = this.committed = normalizeLsn(lsn)
      void s.acknowledge(this.committed)
    } else if (shouldRespond && this.committed !== null) {
      void s.acknowledge(this.committed)
    }
  }

  /**
   * Starts streaming the slot from `from`, creating the slot first when `create` is given.
   * Resolves with the new slot (consistent point, exported snapshot) once it exists, or
   * `undefined` at once when it was not created; a failure to start shows in `error`.
   */
  start(from: string, create: SlotToCreate | undefined): Promise<SlotCreated | undefined> {
    let created: (value: SlotCreated) => void = () => {}
    const createdPromise = new Promise<SlotCreated>((resolve) => (created = resolve))
    const plugin = new SlotPlugin({
      publication: this.options.publication,
      ...(create !== undefined
        ? {
          create: {
            temporary: create.temporary,
            exportSnapshot: create.exportSnapshot,
            onCreated: (c: SlotCreated) => {
              created(c)
              return create.exportSnapshot ? create.imported : Promise.resolve()
            }
          }
        }
        : {})
    })
    this.error = undefined
    const s = new LogicalReplicationService(pgConfig(this.options.connectionString), {
      acknowledge: { auto: false, timeoutSeconds: 0 },
      flowControl: { enabled: true }
    })
    this.service = s
    s.on("data", (_lsn: string, message: Pgoutput.Message) => this.onData(s, message))
    s.on("heartbeat", this.onKeepalive)
    s.on("error", (e: unknown) => (this.error ??= e))
    void s.subscribe(plugin, this.options.slot, from).then(
      () => {
        // The server ended the stream (we did not stop it): the next read reports it.
        if (this.service === s) this.error ??= new Error("the server ended the replication stream")
      },
      (e: unknown) => {
        this.error ??= e
        created({ consistentPoint: "0/0", snapshotName: null })
      }
    )
    return create === undefined ? Promise.resolve(undefined) : createdPromise
  }

  /** Everything up to `lsn` is safely processed: confirm it to the server. */
  commit(lsn: string): void {
    this.committed = maxLsn(this.committed, lsn)
    this.standby()
  }

  /** Sends the standby status (the confirmed LSN) now. */
  standby(): void {
    if (this.service !== undefined && this.committed !== null) void this.service.acknowledge(this.committed)
  }

  /** Ends the stream and forgets what was buffered (a later `start` begins again from a position). */
  async stop(): Promise<void> {
    const s = this.service
    this.service = undefined
    this.held = undefined
    this.tx = undefined
    this.isPaused = false
    this.wake()
    if (s !== undefined) await s.destroy().catch(() => undefined)
  }
}

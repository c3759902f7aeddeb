/**
 * The replication stream of the `postgres-cdc` source: one `pg-logical-replication` connection
 * streaming a slot, its committed transactions buffered (bounded: the stream is paused at the
 * high-water mark, flow control), and the confirmed LSN.
 *
 * - `delivered` is the end LSN of the last transaction handed out by {@link ChangeStream.take};
 *   `committed` the LSN confirmed to the server, moved only by {@link ChangeStream.commit} (after a
 *   checkpoint covering it completed) — or, when everything received has been committed and
 *   nothing else is pending (`busy()` false: no snapshot being read), by an empty transaction or a
 *   keepalive, so an idle slot follows the server's WAL instead of holding it.
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
  type Transaction,
  type TransactionAssembler
} from "./replication.ts"

/** What {@link ChangeStream} needs. */
export interface ChangeStreamOptions {
  readonly connectionString: Redacted.Redacted<string>
  readonly publication: string
  readonly slot: string
  /** Changes buffered before the stream is paused. */
  readonly highWater: number
  readonly assembler: TransactionAssembler
  /** Looks up column types (by OID) before the rows of a relation are decoded. */
  readonly resolveTypes: (oids: ReadonlyArray<number>) => Promise<void>
  /** True while something (a snapshot) must be delivered before the stream may confirm on its own. */
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
  private readonly ready: Array<Transaction> = []
  private readyCount = 0
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
    return !this.options.assembler.open && this.ready.length === 0 && !this.options.busy() &&
      (this.delivered === null || (this.committed !== null && lsnValue(this.delivered) <= lsnValue(this.committed)))
  }

  private readonly onData = async (_lsn: string, message: Pgoutput.Message): Promise<void> => {
    if (this.error !== undefined) return
    try {
      // A relation message comes before the rows that use it: its column types are known in time.
      if (message.tag === "relation") await this.options.resolveTypes(message.columns.map((c) => c.typeOid))
      const tx = this.options.assembler.push(message)
      if (tx !== undefined && tx.changes.length > 0) {
        this.ready.push(tx)
        this.readyCount += tx.changes.length
      } else if (tx !== undefined && this.idle()) {
        this.delivered = this.committed = maxLsn(this.committed, tx.endLsn)
      }
    } catch (e) {
      this.error ??= e
      return
    }
    if (this.readyCount >= this.options.highWater) await new Promise<void>((resolve) => this.waiters.push(resolve))
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
    s.on("data", this.onData)
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

  /** Whole transactions, at most `max` changes unless the first one alone is larger. */
  take(max: number): Array<Change> {
    const out: Array<Change> = []
    while (this.ready.length > 0 && (out.length === 0 || out.length + this.ready[0].changes.length <= max)) {
      const tx = this.ready.shift()!
      this.readyCount -= tx.changes.length
      for (const c of tx.changes) out.push(c)
      this.delivered = tx.endLsn
    }
    if (this.readyCount < this.options.highWater) this.wake()
    return out
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
    this.ready.length = 0
    this.readyCount = 0
    this.wake()
    if (s !== undefined) await s.destroy().catch(() => undefined)
  }
}

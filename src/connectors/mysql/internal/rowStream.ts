/**
 * One streaming `SELECT` on its own session: rows arrive as the server sends them and are buffered
 * up to a high-water mark, where the socket is paused (the server waits), so memory stays flat
 * whatever the table size. {@link RowStream.next} hands out the next rows in batches.
 *
 * Not `effect/Stream`: the reader pulls batches of a size the runtime chooses, and stopping early
 * (a `seek`) must drop the session rather than drain the result.
 */
import type mysql from "mysql2"
import { geometryTypeCast } from "./values.ts"

/** A streaming query (see the module doc). */
export class RowStream {
  /** The result's field packets, once the server described them. */
  fields: ReadonlyArray<mysql.FieldPacket> | undefined = undefined
  private rows: Array<ReadonlyArray<unknown>> = []
  private head = 0
  private ended = false
  private error: unknown = undefined
  private paused = false
  /** The most rows buffered at once. */
  private peak = 0
  private wake: (() => void) | undefined = undefined
  private readonly conn: mysql.Connection
  private readonly highWater: number

  constructor(conn: mysql.Connection, sql: string, params: ReadonlyArray<unknown>, highWater: number, geometry: boolean) {
    this.conn = conn
    this.highWater = highWater
    const q = conn.query({
      sql,
      values: params as Array<unknown>,
      rowsAsArray: true,
      ...(geometry ? { typeCast: geometryTypeCast } : {})
    })
    q.on("fields", (fields: Array<mysql.FieldPacket>) => {
      this.fields = fields
    })
    q.on("result", (row: unknown) => {
      this.rows.push(row as ReadonlyArray<unknown>)
      if (this.rows.length - this.head > this.peak) this.peak = this.rows.length - this.head
      if (!this.paused && this.rows.length - this.head >= this.highWater) {
        this.paused = true
        this.conn.pause()
      }
      this.notify()
    })
    q.on("error", (err: unknown) => {
      this.error = err
      this.notify()
    })
    q.on("end", () => {
      this.ended = true
      this.notify()
    })
  }

  private notify(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /** Rows buffered now and the most buffered at once (a paused connection delivers no more rows). */
  readAhead(): { readonly held: number; readonly peak: number } {
    return { held: this.rows.length - this.head, peak: this.peak }
  }

  /** Up to `n` rows (at least one), or `undefined` at the end of the result. */
  async next(n: number): Promise<ReadonlyArray<ReadonlyArray<unknown>> | undefined> {
    while (this.rows.length === this.head && !this.ended && this.error === undefined) {
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
    }
    if (this.error !== undefined) throw this.error
    if (this.rows.length === this.head) return undefined
    const end = Math.min(this.rows.length, this.head + n)
    const out = this.rows.slice(this.head, end)
    this.head = end
    if (this.head === this.rows.length) {
      this.rows = []
      this.head = 0
    } else if (this.head > 65536) {
      this.rows = this.rows.slice(this.head)
      this.head = 0
    }
    if (this.paused && this.rows.length - this.head < this.highWater / 2) {
      this.paused = false
      this.conn.resume()
    }
    return out
  }
}

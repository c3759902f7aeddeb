/**
 * The records' text in the cluster's keyed exchange (`payload`): JSON, with what JSON cannot carry
 * — bigints, dates, bytes, non-finite numbers — tagged, so a record read back equals the record
 * written.
 */
import { Buffer } from "node:buffer"

const TAG = "\u0000df"

/** A record as the exchange's `payload` text (bigint, Date, bytes and non-finite numbers kept). */
export const encodeRecord = (record: unknown): string =>
  JSON.stringify(record, function(this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key]
    if (typeof raw === "bigint") return { [TAG]: "bigint", v: raw.toString() }
    if (raw instanceof Date) return { [TAG]: "date", v: Number.isNaN(raw.getTime()) ? null : raw.toISOString() }
    if (raw instanceof Uint8Array) return { [TAG]: "bytes", v: Buffer.from(raw).toString("base64") }
    if (typeof raw === "number" && !Number.isFinite(raw)) return { [TAG]: "number", v: String(raw) }
    return value
  })

/** The record of a `payload` text ({@link encodeRecord}'s inverse). */
export const decodeRecord = (text: string): unknown =>
  JSON.parse(text, (_key, value: unknown) => {
    if (typeof value !== "object" || value === null || !(TAG in value)) return value
    const { [TAG]: tag, v } = value as { readonly [TAG]: string; readonly v: string | null }
    switch (tag) {
      case "bigint":
        return BigInt(v!)
      case "date":
        return v === null ? new Date(Number.NaN) : new Date(v)
      case "bytes":
        return new Uint8Array(Buffer.from(v!, "base64"))
      case "number":
        return Number(v)
      default:
        return value
    }
  })


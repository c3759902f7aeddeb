/**
 * The server's size limits of one `XADD`, read once when a sink opens: `proto-max-bulk-len` (the
 * longest field name or value) and `client-query-buffer-limit` (the largest command). A command
 * over either makes the server drop the connection (every command of the pipeline fails, and a
 * retry would fail the same way), so the sink refuses such a record before sending it.
 */
import { Effect } from "effect"
import type { Refusal } from "../../kit/publishLetters.ts"
import { oversize as oversizeRefusal } from "../../kit/publishLetters.ts"
import { type RedisClient, send } from "./client.ts"

/** Redis's defaults, when `CONFIG GET` is not allowed (ACLs, managed services). */
const DEFAULT_BULK = 512 * 1024 * 1024
const DEFAULT_QUERY = 1024 * 1024 * 1024

/** The limits of a server. */
export interface Limits {
  readonly bulk: number
  readonly query: number
}

const configValue = (reply: unknown, fallback: number): number => {
  const value = Array.isArray(reply) ? Number(reply[1]) : Number.NaN
  return Number.isFinite(value) && value > 0 ? value : fallback
}

/** The limits of the server `client` is connected to (Redis's defaults when it does not say). */
export const serverLimits = (client: RedisClient): Effect.Effect<Limits> =>
  Effect.promise(async () => ({
    bulk: configValue(await send(client, ["CONFIG", "GET", "proto-max-bulk-len"]).catch(() => undefined), DEFAULT_BULK),
    query: configValue(await send(client, ["CONFIG", "GET", "client-query-buffer-limit"]).catch(() => undefined), DEFAULT_QUERY)
  }))

/** The refusal of a record whose `XADD` arguments exceed a limit, or `undefined`. */
export const oversize = (record: unknown, args: ReadonlyArray<string>, limits: Limits): Refusal | undefined => {
  let total = 0
  let longest = 0
  for (const a of args) {
    const n = Buffer.byteLength(a, "utf8")
    total += n
    if (n > longest) longest = n
  }
  if (longest > limits.bulk) return oversizeRefusal(record, longest, { bytes: limits.bulk, what: "the server's proto-max-bulk-len for one field" })
  return total > limits.query ? oversizeRefusal(record, total, { bytes: limits.query, what: "the server's client-query-buffer-limit" }) : undefined
}

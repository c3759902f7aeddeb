/**
 * Redis connections for the `redis-streams` connectors: connected with a bounded timeout and no
 * automatic reconnection (a lost server fails the read or write, and the run's restart strategy
 * decides), released with the task's scope; errors classified once; replies of the stream
 * commands parsed whatever protocol (RESP2 arrays or RESP3 maps) the client negotiated. The URL
 * stays `Redacted` until the client gets it and never appears in a message.
 *
 * The connection of the sinks and of the sources' non-blocking commands (XACK, XGROUP, XCLAIM,
 * XINFO) is shared by the nodes of a run on one URL ({@link shared}, the kit's `Clients` pool);
 * a source's blocking XREADGROUP keeps a connection of its own ({@link session}), since a blocked
 * connection answers nothing else.
 */
import { Effect, Redacted, type Scope } from "effect"
import * as Classify from "../../kit/Classify.ts"
import * as Clients from "../../kit/Clients.ts"
import { createClient } from "redis"
import type { ConnectorError, } from "../../../Errors.ts"

/** How long connecting may take before `check` or `open` fails. */
export const CONNECT_TIMEOUT_MS = 5_000

const create = (url: Redacted.Redacted<string>, name = "dataflare") =>
  createClient({
    url: Redacted.value(url),
    RESP: 2,
    name,
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: false }
  })

/** A connected client. */
export type RedisClient = ReturnType<typeof create>

/** A raw reply. */
export type Reply = unknown

// node-redis errors: a socket code, the client's class name, or the reply's error prefix
const reasons = Classify.make<Classify.ErrorFacts>({
  facts: Classify.errorFacts,
  message: (f) => f.text,
  rules: [
    { kind: "connection", when: (f) => Classify.isSocketCode(f.code) || f.name === "SocketClosedUnexpectedlyError" || f.name === "ClientClosedError" },
    { kind: "timeout", when: (f) => f.name === "ConnectionTimeoutError" || f.name === "TimeoutError" },
    { kind: "configuration", when: (f) => /^(NOAUTH|WRONGPASS|NOPERM|WRONGTYPE|NOGROUP)/.test(f.text) },
    { kind: "transient", when: (f) => /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN)/.test(f.text) },
    // errors of the client itself (e.g. "The client is closed")
    { kind: "connection", when: (f) => f.name === "Error" && typeof f.code !== "string" && !f.text.startsWith("ERR") }
  ],
  otherwise: "rejected"
})

/** A client or server error as the connector's error: connection losses retryable, server refusals not. */
export const classify = (connector: string, operation: string): (error: unknown) => ConnectorError => reasons.classify(connector, operation)

/** Connects a client (no reconnection; connect bounded by {@link CONNECT_TIMEOUT_MS}), named `name` (`CLIENT LIST`). */
export const connect = async (url: Redacted.Redacted<string>, name?: string): Promise<RedisClient> => {
  const client = create(url, name)
  // errors reach the pending command; without a listener the client would throw them
  client.on("error", () => {})
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const e = new Error(`no answer from the server within ${CONNECT_TIMEOUT_MS} ms`)
          e.name = "ConnectionTimeoutError"
          reject(e)
        }, CONNECT_TIMEOUT_MS)
      })
    ])
  } catch (e) {
    client.destroy()
    throw e
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
  return client
}

/** A connected client, closed with the scope. */
export const session = (connector: string, url: Redacted.Redacted<string>, name?: string): Effect.Effect<RedisClient, ConnectorError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => connect(url, name), catch: classify(connector, "connect") }),
    (client) => Effect.sync(() => close(client))
  )

/** Closes a client at once; one closed already is left as it is. */
export const close = (client: RedisClient): void => {
  try {
    client.destroy()
  } catch {
    // closed already
  }
}

/** Sends a raw command. */
export const send = (client: RedisClient, args: ReadonlyArray<string>): Promise<Reply> => client.sendCommand([...args])

/** A stream entry: its id and its fields as `[name, value, name, value, ...]` (`undefined`: deleted since delivery). */
export interface Entry {
  readonly id: string
  readonly fields: ReadonlyArray<string> | undefined
}

const text = (v: unknown): string => (typeof v === "string" ? v : v instanceof Uint8Array ? Buffer.from(v).toString("utf8") : String(v))

/** Entries of an `XRANGE` / `XCLAIM` reply. */
export const entriesOf = (reply: Reply): Array<Entry> => {
  if (!Array.isArray(reply)) return []
  const out: Array<Entry> = []
  for (const e of reply) {
    if (!Array.isArray(e)) continue
    const fields = e[1]
    out.push({ id: text(e[0]), fields: Array.isArray(fields) ? fields.map(text) : undefined })
  }
  return out
}

/** Entries of the one stream of an `XREADGROUP` reply (`null` when none). */
export const readReplyEntries = (reply: Reply): Array<Entry> => {
  if (reply === null || reply === undefined) return []
  if (Array.isArray(reply)) return reply.length === 0 ? [] : entriesOf((reply[0] as ReadonlyArray<unknown>)[1])
  const values = Object.values(reply as object)
  return values.length === 0 ? [] : entriesOf(values[0])
}

/** A reply of flat `[key, value, ...]` pairs or a map, as an object. */
const record = (reply: unknown): { readonly [k: string]: unknown } => {
  if (Array.isArray(reply)) {
    const o: { [k: string]: unknown } = {}
    for (let i = 0; i + 1 < reply.length; i += 2) o[text(reply[i])] = reply[i + 1]
    return o
  }
  return reply !== null && typeof reply === "object" ? (reply as { readonly [k: string]: unknown }) : {}
}

/** A consumer of a group (`XINFO CONSUMERS`). */
export interface ConsumerInfo {
  readonly name: string
  readonly pending: number
  /** Milliseconds since the consumer last read or claimed. */
  readonly idle: number
}

/** The consumers of an `XINFO CONSUMERS` reply. */
export const consumersOf = (reply: Reply): Array<ConsumerInfo> =>
  (Array.isArray(reply) ? reply : []).map((c) => {
    const o = record(c)
    return { name: text(o.name), pending: Number(o.pending), idle: Number(o.idle) }
  })

/** The `lag` of `group` in an `XINFO GROUPS` reply (Redis 7+; `undefined` when absent or unknown, `nil` after some deletions). */
export const groupLagOf = (reply: Reply, group: string): number | undefined => {
  for (const g of Array.isArray(reply) ? reply : []) {
    const o = record(g)
    if (text(o.name) !== group) continue
    const lag = o.lag
    return typeof lag === "number" || typeof lag === "string" ? Number(lag) : undefined
  }
  return undefined
}

/** The entry ids of an extended `XPENDING` reply. */
export const pendingIds = (reply: Reply): Array<string> =>
  (Array.isArray(reply) ? reply : []).map((p) => text(Array.isArray(p) ? p[0] : record(p).id))

/** Compares two unsigned decimal numbers without leading zeros, exactly (ids go up to 2^64). */
const compareDecimal = (a: string, b: string): number =>
  a.length !== b.length ? (a.length < b.length ? -1 : 1) : a === b ? 0 : a < b ? -1 : 1

/** Compares two stream entry ids `ms-seq` (`-1`, `0`, `1`). */
export const compareIds = (a: string, b: string): number => {
  const da = a.indexOf("-")
  const db = b.indexOf("-")
  const ms = compareDecimal(da < 0 ? a : a.slice(0, da), db < 0 ? b : b.slice(0, db))
  return ms !== 0 ? ms : compareDecimal(da < 0 ? "0" : a.slice(da + 1), db < 0 ? "0" : b.slice(db + 1))
}

/** True when a reply error says the group exists already. */
export const isBusyGroup = (e: unknown): boolean => {
  const m = Classify.field(e, "message")
  return typeof m === "string" && m.startsWith("BUSYGROUP")
}

/**
 * A connection shared by the nodes on one URL: `current()` is the connection now; `reconnect()`
 * replaces it when it is no longer ready (after a lost connection: the client does not reconnect
 * by itself), once for all the nodes holding it.
 */
export interface Shared {
  readonly current: () => RedisClient
  readonly reconnect: () => Promise<void>
}

interface SharedConfig {
  readonly connector: string
  readonly url: Redacted.Redacted<string>
  /** The client name of a new connection (`CLIENT LIST`): the first holder's. */
  readonly name: string
}

const openShared = (c: SharedConfig): Effect.Effect<Shared, ConnectorError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => connect(c.url, c.name), catch: classify(c.connector, "connect") }).pipe(
      Effect.map((first) => {
        let client = first
        let reconnecting: Promise<void> | undefined
        const reconnect = (): Promise<void> => {
          if (client.isReady) return Promise.resolve()
          reconnecting ??= connect(c.url, c.name).then(
            (fresh) => {
              close(client)
              client = fresh
            },
            () => undefined
          ).finally(() => (reconnecting = undefined))
          return reconnecting
        }
        return { current: () => client, reconnect }
      })
    ),
    (s) => Effect.sync(() => close(s.current()))
  )

const pool = Clients.pool({ key: (c: SharedConfig) => Clients.urlKey(c.url), open: openShared })

/**
 * The shared connection of `url` (opened by the first node, named `name`; closed when the last
 * node's scope closes).
 */
export const shared = (connector: string, url: Redacted.Redacted<string>, name = "dataflare"): Effect.Effect<Shared, ConnectorError, Scope.Scope> =>
  pool.get({ connector, url, name })

/** `check` of both connectors: the server answers, and `stream` is a stream or does not exist yet. */
export const checkStream = (connector: string, url: Redacted.Redacted<string>, stream: string): Effect.Effect<void, ConnectorError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const client = yield* session(connector, url)
      const type = yield* Effect.tryPromise({ try: () => send(client, ["TYPE", stream]), catch: classify(connector, "check") })
      if (type !== "stream" && type !== "none") {
        return yield* classify(connector, "check")(new Error(`WRONGTYPE key '${stream}' holds a ${String(type)}, not a stream`))
      }
    })
  )

/**
 * An amqplib connection as a scoped resource, and amqplib failures as `ConnectorError`s. Messages
 * name the broker by host and port only: the URL's user and password never appear. A connection
 * is shared by the nodes of a run with the same URL (the kit's `Clients` pool): each node opens
 * its own channels on it (a channel error closes only that channel), and the connection closes
 * when the last node using it closes.
 */
import amqp from "amqplib"
import { Effect, Redacted, type Scope } from "effect"
import * as Clients from "../../kit/Clients.ts"
import {
  ConfigurationError,
  ConnectionError,
  ConnectorError,
  type ConnectorErrorReason,
  RejectedError,
  TimeoutError,
  TransientError
} from "../../../Errors.ts"

/** The connector's name in errors. */
export const CONNECTOR = "rabbitmq"

/** The default of `connect_timeout`. */
export const CONNECT_TIMEOUT_MS = 10_000

/** `host:port/vhost` of an AMQP URL, for messages (never the user or password). */
export const brokerOf = (url: Redacted.Redacted<string>): string => {
  try {
    const u = new URL(Redacted.value(url))
    const vhost = decodeURIComponent(u.pathname.replace(/^\//, "")) || "/"
    return `${u.hostname}:${u.port || (u.protocol === "amqps:" ? "5671" : "5672")} vhost ${vhost}`
  } catch {
    return "the broker"
  }
}

const field = (u: unknown, key: string): unknown =>
  u !== null && typeof u === "object" && key in u ? (u as { readonly [k: string]: unknown })[key] : undefined

/** The text of an amqplib error, with anything that looks like a URL's credentials removed. */
const textOf = (e: unknown): string => {
  const m = field(e, "message")
  return (typeof m === "string" ? m : String(e)).replace(/\/\/[^/@\s]*@/gu, "//")
}

/**
 * An amqplib failure as the connector's error: AMQP reply codes decide (403 access refused and
 * 404 not found are configuration, 406 precondition failed and 405 locked are rejected, 320/541
 * and socket errors are connection errors); a failure to connect at all is a connection error.
 */
export const classify = (operation: string, broker: string) => (e: unknown): ConnectorError => {
  if (e instanceof ConnectorError) return e
  const code = field(e, "code")
  const text = textOf(e)
  const message = `${text} (${broker})`
  let reason: ConnectorErrorReason
  if (code === 403 || /ACCESS[-_]REFUSED/u.test(text)) reason = new ConfigurationError({ message: `access refused: check the user and password of url (${broker})` })
  else if (code === 404) reason = new ConfigurationError({ message })
  else if (code === 405 || code === 406) reason = new RejectedError({ message })
  else if (code === "ETIMEDOUT") reason = new TimeoutError({ message })
  else if (code === 320 || code === 541 || typeof code === "string") reason = new ConnectionError({ message })
  else if (code === 506) reason = new TransientError({ message })
  else reason = new ConnectionError({ message })
  return new ConnectorError({ connector: CONNECTOR, operation, reason })
}

/**
 * The connection of `url`, shared with the other nodes using it (opened by the first, closed when
 * the last one's scope closes). Connecting (socket, handshake) is bounded by `timeoutMs`; a broker
 * that does not answer in time fails with a `TimeoutError`.
 */
export const connection = (url: Redacted.Redacted<string>, timeoutMs: number): Effect.Effect<amqp.ChannelModel, ConnectorError, Scope.Scope> =>
  pool.get({ url, timeoutMs })

const pool = Clients.pool({
  key: (c: { readonly url: Redacted.Redacted<string>; readonly timeoutMs: number }) => Clients.urlKey(c.url),
  open: (c: { readonly url: Redacted.Redacted<string>; readonly timeoutMs: number }) => open(c.url, c.timeoutMs)
})

const open = (
  url: Redacted.Redacted<string>,
  timeoutMs: number
): Effect.Effect<amqp.ChannelModel, ConnectorError, Scope.Scope> => {
  const broker = brokerOf(url)
  // interruptible (a caller's timeout, e.g. `dataflare check --timeout`, ends the attempt at
  // once): a connection that opens after all is closed by the abort listener
  return Effect.acquireRelease(
    Effect.interruptible(Effect.tryPromise({
      try: (signal) => {
        const connecting = amqp.connect(Redacted.value(url), { timeout: timeoutMs })
        signal.addEventListener("abort", () => void connecting.then((c) => c.close()).catch(() => undefined))
        return connecting
      },
      catch: classify("connect", broker)
    }).pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () =>
          Effect.fail(
            new ConnectorError({
              connector: CONNECTOR,
              operation: "connect",
              reason: new TimeoutError({ message: `no answer from ${broker} within ${timeoutMs} ms` })
            })
          )
      }),
      // a connection error after the handshake is seen by the channels' users
      Effect.tap((c) => Effect.sync(() => c.on("error", () => undefined)))
    )),
    (c) => Effect.promise(() => c.close().catch(() => undefined))
  )
}

/**
 * `check` of both connectors: connects (bounded by `timeoutMs`), then runs `probe` on a channel of
 * its own (`checkQueue`, `checkExchange`: a 404 closes only that channel).
 */
export const checkWith = (
  url: Redacted.Redacted<string>,
  timeoutMs: number,
  probe: (channel: amqp.Channel) => Promise<unknown> | undefined
): Effect.Effect<void, ConnectorError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const broker = brokerOf(url)
      const conn = yield* connection(url, timeoutMs)
      const channel = yield* Effect.tryPromise({ try: () => conn.createChannel(), catch: classify("check", broker) })
      channel.on("error", () => undefined)
      yield* Effect.tryPromise({ try: async () => void (await probe(channel)), catch: classify("check", broker) })
    })
  )

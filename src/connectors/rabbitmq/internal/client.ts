/**
 * An amqplib connection as a scoped resource, and amqplib failures as `ConnectorError`s. Messages
 * name the broker by host and port only: the URL's user and password never appear. A connection
 * is shared by the nodes of a run with the same URL (the kit's `Clients` pool): each node opens
 * its own channels on it (a channel error closes only that channel), and the connection closes
 * when the last node using it closes.
 */
import amqp from "amqplib"
import { Effect, Redacted, type Scope } from "effect"
import * as Classify from "../../kit/Classify.ts"
import * as Clients from "../../kit/Clients.ts"
import {
  ConnectorError,
  TimeoutError,
} from "../../../Errors.ts"

/** The connector's name in errors. */
export const CONNECTOR = "rabbitmq"

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

/** What classifies an amqplib failure: its AMQP reply code or socket code, its text, and the broker for messages. */
interface Facts {
  readonly code: unknown
  readonly text: string
  readonly broker: string
}

const reasons = Classify.make<Facts, string>({
  facts: (e, broker) => ({ code: Classify.field(e, "code"), text: Classify.redactCredentials(Classify.textOf(e)), broker }),
  message: (f) => `${f.text} (${f.broker})`,
  rules: [
    {
      kind: "configuration",
      when: (f) => f.code === 403 || /ACCESS[-_]REFUSED/u.test(f.text),
      message: (f) => `access refused: check the user and password of url (${f.broker})`
    },
    { kind: "configuration", when: (f) => f.code === 404 },
    { kind: "rejected", when: (f) => f.code === 405 || f.code === 406 },
    { kind: "timeout", when: (f) => f.code === "ETIMEDOUT" },
    { kind: "connection", when: (f) => f.code === 320 || f.code === 541 || typeof f.code === "string" },
    { kind: "transient", when: (f) => f.code === 506 }
  ],
  otherwise: "connection",
  cause: false
})

/**
 * An amqplib failure as the connector's error: AMQP reply codes decide (403 access refused and
 * 404 not found are configuration, 406 precondition failed and 405 locked are rejected, 320/541
 * and socket errors are connection errors); a failure to connect at all is a connection error.
 */
export const classify = (operation: string, broker: string): (e: unknown) => ConnectorError => reasons.classify(CONNECTOR, operation, broker)

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

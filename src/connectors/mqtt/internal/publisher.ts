/**
 * The publishing client of the `mqtt` sinks, shared by the sinks of a run on one broker URL (and
 * `client_id`, when one is given) through the kit's `Clients` pool: one connection, on a clean
 * session, closed when the last sink closes. The broker's Receive Maximum bounds the QoS 1/2
 * messages unacknowledged on the connection, so the sinks sharing it share that window
 * ({@link Publisher.room}). A source's client is never shared: it carries its persistent session.
 */
import { randomUUID } from "node:crypto"
import { Effect, type Redacted, type Scope } from "effect"
import type mqtt from "mqtt"
import type { ConnectorError } from "../../../Errors.ts"
import * as Clients from "../../kit/Clients.ts"
import { connect } from "./client.ts"

/** A shared publishing connection and its window of unacknowledged QoS 1/2 messages. */
export interface Publisher {
  readonly client: mqtt.MqttClient
  /** The broker's Receive Maximum for this connection. */
  readonly receiveMaximum: number
  /** The broker's Maximum Packet Size for this connection. */
  readonly maximumPacketSize: number
  /** QoS 1/2 messages published on the connection and not acknowledged yet (every sink's). */
  readonly inflight: () => number
  /** Publishes one QoS 1/2 message counted in the window; settles with the broker's acknowledgement. */
  readonly publish: (topic: string, body: Buffer, options: mqtt.IClientPublishOptions) => Promise<void>
  /** Resolves when a message of the window was acknowledged (check `inflight` again). */
  readonly room: () => Promise<void>
}

interface PublisherConfig {
  readonly url: Redacted.Redacted<string>
  readonly clientId: string | undefined
  readonly timeoutMs: number
}

const open = (c: PublisherConfig): Effect.Effect<Publisher, ConnectorError, Scope.Scope> => {
  // after an error or a lost connection, the messages still unacknowledged never will be: closing
  // then does not wait for them (it would wait forever), it ends the client at once
  let broken = false
  return Effect.map(
    Effect.tap(
      connect(
        c.url,
        { clientId: c.clientId ?? `dataflare-${randomUUID().slice(0, 12)}`, clean: true },
        c.timeoutMs,
        // each sink listens for errors itself; this one keeps an error from being unhandled
        (client) => {
          client.on("error", () => void (broken = true))
          client.on("close", () => void (broken = true))
        },
        false
      ),
      // runs before the release of `connect` (finalizers run in reverse order)
      ({ client }) => Effect.addFinalizer(() => Effect.sync(() => void (broken && client.end(true))))
    ),
    ({ client, maximumPacketSize, receiveMaximum }) => {
      let inflight = 0
      let waiters: Array<() => void> = []
      const released = () => {
        inflight--
        const woken = waiters
        waiters = []
        for (const w of woken) w()
      }
      return {
        client,
        receiveMaximum,
        maximumPacketSize,
        inflight: () => inflight,
        publish: (topic, body, options) => {
          inflight++
          return new Promise<void>((resolve, reject) =>
            client.publish(topic, body, options, (e) => {
              released()
              if (e) reject(e)
              else resolve()
            })
          )
        },
        room: () => new Promise<void>((resolve) => waiters.push(resolve))
      }
    }
  )
}

const pool = Clients.pool({
  key: (c: PublisherConfig) => Clients.key(`${Clients.urlKey(c.url)} ${c.clientId ?? ""}`),
  open
})

/** The publisher of `url` (and `clientId`), shared with the other sinks using them. */
export const publisher = (url: Redacted.Redacted<string>, clientId: string | undefined, timeoutMs: number): Effect.Effect<Publisher, ConnectorError, Scope.Scope> =>
  pool.get({ url, clientId, timeoutMs })

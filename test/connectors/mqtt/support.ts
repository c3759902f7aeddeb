/**
 * Helpers of the MQTT tests against the local Mosquitto (127.0.0.1:1883, anonymous): topics and
 * client ids with a random suffix per test, publishing with plain mqtt.js, and removing a
 * persistent session when the test ends.
 */
import { Effect, Redacted, type Scope } from "effect"
import mqtt from "mqtt"

/** The local broker. */
export const URL = process.env.MQTT_URL ?? "mqtt://127.0.0.1:1883"

/** The URL as the connectors' configs decode it. */
export const url = Redacted.make(URL)

/** `prefix/<random>`. */
export const unique = (prefix: string): string => `${prefix}-${Math.random().toString(36).slice(2, 10)}`

/** A client id whose persistent session is removed when the scope closes. */
export const sessionId = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => unique(prefix)), (id) =>
    Effect.promise(async () => {
      // connecting with a clean start and no expiry ends the stored session
      const c = await mqtt.connectAsync(URL, { protocolVersion: 5, clientId: id, clean: true, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 })
      await c.endAsync()
    }).pipe(Effect.ignore))

/** Publishes `payloads` to `topic` with QoS `qos`, each acknowledged by the broker. */
export const publish = (topic: string, payloads: ReadonlyArray<string>, qos: 0 | 1 | 2 = 1): Effect.Effect<void> =>
  Effect.promise(async () => {
    const c = await mqtt.connectAsync(URL, { protocolVersion: 5, reconnectPeriod: 0 })
    for (const p of payloads) await c.publishAsync(topic, p, { qos })
    await c.endAsync()
  })

/** Subscribes to `topic` (QoS 1) and collects the payloads received, as text, until the scope closes. */
export const collect = (topic: string): Effect.Effect<{ readonly received: Array<string> }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const received: Array<string> = []
      const c = await mqtt.connectAsync(URL, { protocolVersion: 5, reconnectPeriod: 0 })
      c.on("message", (_t, payload) => received.push(payload.toString("utf8")))
      await c.subscribeAsync(topic, { qos: 1 })
      return { received, client: c }
    }),
    ({ client }) => Effect.promise(() => client.endAsync())
  )

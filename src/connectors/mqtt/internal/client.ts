/**
 * An mqtt.js client (MQTT 5) as a scoped resource, and its failures as `ConnectorError`s.
 * Messages name the broker by host and port only: the URL's user and password never appear. The
 * client does not reconnect by itself (`reconnectPeriod: 0`): a lost connection fails the run,
 * whose restart strategy restores the last checkpoint (a silent reconnect would break the
 * acknowledge-after-checkpoint bookkeeping).
 */
import { Effect, Redacted, type Scope } from "effect"
import * as Classify from "../../kit/Classify.ts"
import mqtt from "mqtt"
import type { ConnectorError, } from "../../../Errors.ts"

/** The connector's name in errors. */
export const CONNECTOR = "mqtt"

/** `host:port` of an MQTT URL, for messages (never the user or password). */
export const brokerOf = (url: Redacted.Redacted<string>): string => {
  try {
    const u = new URL(Redacted.value(url))
    const port = u.port || (u.protocol === "mqtts:" || u.protocol === "ssl:" ? "8883" : u.protocol === "wss:" ? "443" : u.protocol === "ws:" ? "80" : "1883")
    return `${u.hostname}:${port}`
  } catch {
    return "the broker"
  }
}

/** MQTT 5 reason codes that say the config is wrong (bad client id, credentials, authorization, topic). */
const CONFIGURATION_CODES = new Set([133, 134, 135, 140, 143, 144, 149, 151, 153, 154])

/** What classifies an mqtt.js failure: its MQTT 5 reason code or socket code, and the broker for messages. */
interface Facts {
  readonly code: unknown
  readonly broker: string
  readonly message: string
}

const reasons = Classify.make<Facts, string>({
  facts: (e, broker) => ({ code: Classify.field(e, "code"), broker, message: `${Classify.redactCredentials(Classify.textOf(e))} (${broker})` }),
  message: (f) => f.message,
  rules: [
    {
      kind: "configuration",
      when: (f) => f.code === 134 || f.code === 135,
      message: (f) => `not authorized: check the user and password of url (${f.broker})`
    },
    { kind: "configuration", when: (f) => typeof f.code === "number" && CONFIGURATION_CODES.has(f.code) },
    { kind: "rejected", when: (f) => typeof f.code === "number" && f.code >= 128 },
    { kind: "timeout", when: (f) => f.code === "ETIMEDOUT" }
  ],
  otherwise: "connection",
  cause: false
})

/** An mqtt.js failure as the connector's error (reason codes decide; text is only quoted). */
export const classify = (operation: string, broker: string): (e: unknown) => ConnectorError => reasons.classify(CONNECTOR, operation, broker)

/** A connected client and what the broker said when it accepted the connection. */
export interface Connected {
  readonly client: mqtt.MqttClient
  readonly sessionPresent: boolean
  /** How many QoS 1/2 messages the broker takes unacknowledged from this client (its Receive Maximum). */
  readonly receiveMaximum: number
  /** The largest packet the broker takes (its Maximum Packet Size; MQTT's limit when it says none). */
  readonly maximumPacketSize: number
}

/** MQTT's largest packet: a Remaining Length of 268,435,455 bytes and its fixed header. */
export const MQTT_MAX_PACKET = 268_435_460

/**
 * A connected client, ended with the scope (`force`: at once, without sending what is pending —
 * for a source, whose unsent acknowledgements must stay unsent). `prepare` runs on the client
 * before any packet from the broker is handled (attach listeners there). Connecting is bounded by
 * `timeoutMs`.
 */
export const connect = (
  url: Redacted.Redacted<string>,
  options: mqtt.IClientOptions,
  timeoutMs: number,
  prepare: (client: mqtt.MqttClient) => void,
  force: boolean
): Effect.Effect<Connected, ConnectorError, Scope.Scope> => {
  const broker = brokerOf(url)
  // interruptible (a caller's timeout, e.g. `dataflare check --timeout`, ends the attempt at once)
  return Effect.acquireRelease(
    Effect.interruptible(Effect.callback<Connected, ConnectorError>((resume) => {
      const client = mqtt.connect(Redacted.value(url), {
        protocolVersion: 5,
        reconnectPeriod: 0,
        connectTimeout: timeoutMs,
        ...options
      })
      prepare(client)
      let settled = false
      const fail = (e: unknown) => {
        if (settled) return
        settled = true
        client.end(true)
        resume(Effect.fail(classify("connect", broker)(e)))
      }
      const timer = setTimeout(() => fail(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "ETIMEDOUT" })), timeoutMs)
      client.once("connect", (connack) => {
        clearTimeout(timer)
        if (settled) return
        settled = true
        resume(Effect.succeed({
          client,
          sessionPresent: connack.sessionPresent,
          receiveMaximum: connack.properties?.receiveMaximum ?? 65535,
          maximumPacketSize: connack.properties?.maximumPacketSize ?? MQTT_MAX_PACKET
        }))
      })
      client.once("error", (e) => {
        clearTimeout(timer)
        fail(e)
      })
      client.once("close", () => {
        clearTimeout(timer)
        fail(new Error("the broker closed the connection"))
      })
      return Effect.sync(() => {
        clearTimeout(timer)
        client.end(true)
      })
    })),
    ({ client }) => Effect.promise(() => client.endAsync(force).catch(() => undefined))
  )
}

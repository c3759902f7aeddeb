/**
 * NATS connections for the `nats` connectors: connected with a bounded timeout, a few reconnect
 * attempts (then the connection closes and the read or write fails); errors classified once.
 * Credentials stay `Redacted` until the client gets them. A connection is shared by the nodes of
 * a run with the same servers and credentials (the kit's `Clients` pool): NATS multiplexes
 * subscriptions and requests on one connection, and every per-node state (the durable consumer,
 * its message iterator) is the node's own. It is closed when the last node using it closes.
 */
import { jetstream, type JetStreamClient, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream"
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node"
import { Effect, Redacted, type Scope } from "effect"
import * as Classify from "../../kit/Classify.ts"
import * as Clients from "../../kit/Clients.ts"
import type { ConnectorError, } from "../../../Errors.ts"

/** How long connecting may take before `check` or `open` fails. */
export const CONNECT_TIMEOUT_MS = 5_000

/** What connecting needs (the connection keys of both configs). */
export interface ConnectionConfig {
  readonly servers: string | ReadonlyArray<string>
  readonly user?: string
  readonly password?: Redacted.Redacted<string>
  readonly token?: Redacted.Redacted<string>
}

/** A connection with its JetStream client and manager. */
export interface Session {
  readonly nc: NatsConnection
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
}

/** What classifies a NATS client or server error: its class name and code, the JetStream API status, its text. */
interface Facts extends Classify.ErrorFacts {
  readonly status: unknown
}

const reasons = Classify.make<Facts>({
  facts: (error) => ({
    ...Classify.errorFacts(error),
    status: Classify.field(Classify.field(error, "api_error") ?? Classify.field(error, "apiError"), "code")
  }),
  message: (f) => f.text,
  rules: [
    { kind: "timeout", when: (f) => f.name === "TimeoutError" || (f.name === "RequestError" && /timeout/i.test(f.text)) },
    {
      kind: "connection",
      when: (f) => f.name === "ConnectionError" || f.name === "ClosedConnectionError" || f.name === "NoRespondersError" || f.code === "ECONNREFUSED"
    },
    {
      kind: "configuration",
      when: (f) => f.name === "PermissionViolationError" || f.name === "AuthorizationError" || f.status === 404 || /not found|authorization/i.test(f.text)
    }
  ],
  otherwise: "rejected"
})

/** A client or server error as the connector's error. */
export const classify = (connector: string, operation: string): (error: unknown) => ConnectorError => reasons.classify(connector, operation)

/** Connects (bounded by {@link CONNECT_TIMEOUT_MS}; 5 reconnect attempts a second apart during a run). */
export const connect = async (config: ConnectionConfig): Promise<NatsConnection> =>
  natsConnect({
    servers: typeof config.servers === "string" ? config.servers : [...config.servers],
    name: "dataflare",
    timeout: CONNECT_TIMEOUT_MS,
    maxReconnectAttempts: 5,
    reconnectTimeWait: 1000,
    ...(config.user !== undefined ? { user: config.user } : {}),
    ...(config.password !== undefined ? { pass: Redacted.value(config.password) } : {}),
    ...(config.token !== undefined ? { token: Redacted.value(config.token) } : {})
  })

const open = (connector: string, config: ConnectionConfig): Effect.Effect<Session, ConnectorError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const nc = await connect(config)
        try {
          return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) }
        } catch (e) {
          await nc.close().catch(() => undefined)
          throw e
        }
      },
      catch: classify(connector, "connect")
    }),
    (s) => Effect.promise(() => s.nc.close().catch(() => undefined))
  )

const serversOf = (config: ConnectionConfig): string => (typeof config.servers === "string" ? config.servers : config.servers.join(","))

const pool = Clients.pool({
  key: (c: { readonly connector: string; readonly config: ConnectionConfig }) =>
    Clients.key(`${c.connector} ${serversOf(c.config)} ${c.config.user ?? ""}`, c.config.password, c.config.token),
  open: (c: { readonly connector: string; readonly config: ConnectionConfig }) => open(c.connector, c.config)
})

/**
 * The connected session of `config`'s servers and credentials, shared with the other nodes that
 * use them (opened by the first, closed when the last one's scope closes).
 */
export const session = (connector: string, config: ConnectionConfig): Effect.Effect<Session, ConnectorError, Scope.Scope> =>
  pool.get({ connector, config })

/**
 * The `@elastic/elasticsearch` client of a node, opened in the task's scope and closed with it.
 * Credentials stay `Redacted` until the client gets them. The client's own retries are off
 * (`maxRetries: 0`): the sink retries the failed items of a bulk response itself, and any other
 * request fails at once with a classified error.
 */
import { Client, type ClientOptions } from "@elastic/elasticsearch"
import { Effect, Redacted, type Scope } from "effect"
import { durationMillis } from "../../../WorkflowGraph.ts"
import * as Clients from "../../kit/Clients.ts"
import type { Connection } from "../ElasticsearchConfig.ts"

type ConnectionFields = {
  readonly [K in keyof typeof Connection]?: (typeof Connection)[K] extends { readonly Type: infer T } ? T : never
}

/** The connection part of a config (`node`, credentials, `request_timeout`). */
export type ConnectionConfig = ConnectionFields & { readonly node: string | ReadonlyArray<string> }

import type { ClientOverrides } from "./overrides.ts"

export type { ClientOverrides }

/** The client options of a config. */
export const clientOptions = (config: ConnectionConfig, overrides?: ClientOverrides): ClientOptions => ({
  node: typeof config.node === "string" ? config.node : [...config.node],
  maxRetries: 0,
  requestTimeout: config.request_timeout === undefined ? 30_000 : durationMillis(config.request_timeout),
  ...(config.api_key !== undefined
    ? { auth: { apiKey: Redacted.value(config.api_key) } }
    : config.username !== undefined && config.password !== undefined
    ? { auth: { username: config.username, password: Redacted.value(config.password) } }
    : {}),
  ...(overrides === undefined ? {} : { Connection: overrides.Connection as NonNullable<ClientOptions["Connection"]> })
})

/** A client for a config, closed when the scope closes. */
export const acquireClient = (config: ConnectionConfig, overrides?: ClientOverrides): Effect.Effect<Client, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => new Client(clientOptions(config, overrides))),
    (client) => Effect.promise(() => client.close().catch(() => undefined))
  )

/** The node URLs of a config without user information, for messages and resources. */
export const nodeName = (config: { readonly node: string | ReadonlyArray<string> }): string =>
  (typeof config.node === "string" ? [config.node] : config.node)
    .map((n) => n.replace(/(\/\/)[^/@]+@/u, "$1"))
    .join(",")

/** The nodes' shared clients: one per cluster and credentials (the kit's `Clients` pool). */
const pool = Clients.pool({
  key: (config: ConnectionConfig) =>
    Clients.key(
      `${nodeName(config)} ${config.username ?? ""} ${config.request_timeout ?? ""}`,
      config.api_key,
      config.password,
      typeof config.node === "string" ? config.node : config.node.join(",")
    ),
  open: (config: ConnectionConfig) => acquireClient(config)
})

/**
 * The client of a config's cluster and credentials, shared by the nodes that use them (opened by
 * the first, closed with the last); with `overrides` (tests), a client of its own.
 */
export const sharedClient = (config: ConnectionConfig, overrides?: ClientOverrides): Effect.Effect<Client, never, Scope.Scope> =>
  overrides === undefined ? pool.get(config) : acquireClient(config, overrides)

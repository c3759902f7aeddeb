/**
 * A connected client of a node (through a {@link Connect}), opened in the task's scope and closed
 * with it; the URL stays `Redacted` until `connect` gets it. Resource names never hold credentials.
 */
import { Effect, Redacted, type Scope } from "effect"
import type { ConnectorError } from "../../../Errors.ts"
import * as Clients from "../../kit/Clients.ts"
import { classify } from "../MongodbError.ts"
import type { ClientPort, Connect } from "./port.ts"

/** One pool of shared clients per way to connect (the driver; a test's fake). */
const pools = new WeakMap<Connect, Clients.Pool<Redacted.Redacted<string>, ClientPort, ConnectorError>>()

/**
 * The client of a URL, shared by the nodes on that URL (the kit's `Clients` pool: opened by the
 * first, closed with the last scope that holds it).
 */
export const sharedClient = (connect: Connect, url: Redacted.Redacted<string>): Effect.Effect<ClientPort, ConnectorError, Scope.Scope> => {
  let pool = pools.get(connect)
  if (pool === undefined) {
    pool = Clients.pool({ key: (u: Redacted.Redacted<string>) => Clients.urlKey(u), open: (u) => acquireClient(connect, u) })
    pools.set(connect, pool)
  }
  return pool.get(url)
}

/** A connected client, closed when the scope closes. */
export const acquireClient = (connect: Connect, url: Redacted.Redacted<string>): Effect.Effect<ClientPort, ConnectorError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => connect(Redacted.value(url)), catch: classify("connect") }),
    (client) => Effect.promise(() => client.close().catch(() => undefined))
  )

/** `dataflare check` of a node: the server at `url` answers a ping on `database`. */
export const ping = (connect: Connect, url: Redacted.Redacted<string>, database: string): Effect.Effect<void, ConnectorError> =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* acquireClient(connect, url)
    yield* Effect.tryPromise({ try: () => client.db(database).command({ ping: 1 }), catch: classify("check") })
  }))

/** The hosts of a MongoDB URL, without credentials or options. */
export const hostsOf = (url: string): string => {
  const rest = url.replace(/^mongodb(\+srv)?:\/\//u, "")
  const at = rest.lastIndexOf("@", rest.search(/[/?]/u) === -1 ? rest.length : rest.search(/[/?]/u))
  const hosts = rest.slice(at + 1)
  const end = hosts.search(/[/?]/u)
  return end === -1 ? hosts : hosts.slice(0, end)
}

/** The collection as a resource: `hosts database.collection`. */
export const collectionResource = (config: { readonly url: Redacted.Redacted<string>; readonly database: string; readonly collection: string }) => ({
  kind: "mongodb-collection",
  name: `${hostsOf(Redacted.value(config.url))} ${config.database}.${config.collection}`
})

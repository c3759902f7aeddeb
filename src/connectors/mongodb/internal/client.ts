/**
 * A connected client of a node (through a {@link Connect}), opened in the task's scope and closed
 * with it; the URL stays `Redacted` until `connect` gets it. Resource names never hold credentials.
 */
import { Effect, Redacted, type Scope } from "effect"
import type { ConnectorError } from "../../../Errors.ts"
import { classify } from "../MongodbError.ts"
import type { ClientPort, Connect } from "./port.ts"

/** A connected client, closed when the scope closes. */
export const acquireClient = (connect: Connect, url: Redacted.Redacted<string>): Effect.Effect<ClientPort, ConnectorError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => connect(Redacted.value(url)), catch: classify("connect") }),
    (client) => Effect.promise(() => client.close().catch(() => undefined))
  )

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

/**
 * Clients as shared, scoped resources: a keyed, reference-counted cache, so the nodes of a run
 * that use the same connection (two sources on one Redis URL, a source and a sink on one NATS
 * server) share one client, opened by the first node that needs it and closed when the last one
 * using it closes — at the latest when the run ends (every node's scope closes then).
 *
 * The key is the connection without its secrets (what a log may show: `redis://cache:6379/0`)
 * plus a hash of the whole connection, so two nodes with different credentials never share a
 * client and no secret appears in the key ({@link urlKey}, {@link key}).
 *
 * When not to use it: a client that carries per-node state (an open transaction, a consumer with
 * its own position, a replication session) must stay the node's own.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Clients } from "dataflare"
 *
 * declare const connect: (url: string) => Effect.Effect<{ quit(): Promise<void> }>
 * const redis = Clients.pool({
 *   key: (config: { readonly url: string }) => Clients.urlKey(config.url),
 *   open: (config) => Effect.acquireRelease(connect(config.url), (c) => Effect.promise(() => c.quit()))
 * })
 * // in a connector's open (in the node's scope): const client = yield* redis.get(config)
 * ```
 * @since 0.4.0
 */
import { createHash } from "node:crypto"
import { Deferred, Effect, Exit, Redacted, Scope } from "effect"

/**
 * A cache of clients by key.
 *
 * @category models
 * @since 0.4.0
 */
export interface Pool<C, A, E> {
  /**
   * The client of `config`'s connection: the one already open for its key, or a new one. It is
   * held until the calling scope closes (the node's), closed once no scope holds it.
   */
  readonly get: (config: C) => Effect.Effect<A, E, Scope.Scope>
  /** The keys of the clients open now (for tests and diagnostics: no secrets in them). */
  readonly open: () => ReadonlyArray<string>
}

interface Entry<A, E> {
  refs: number
  readonly scope: Scope.Closeable
  readonly client: Deferred.Deferred<A, E>
}

/**
 * A cache of clients: `key` names a connection (see {@link urlKey}), `open` makes its client in
 * the scope it is given (closed when the last holder lets go).
 *
 * @category constructors
 * @since 0.4.0
 */
export const pool = <C, A, E>(options: {
  readonly key: (config: C) => string
  readonly open: (config: C) => Effect.Effect<A, E, Scope.Scope>
}): Pool<C, A, E> => {
  const entries = new Map<string, Entry<A, E>>()
  const release = (id: string, entry: Entry<A, E>) =>
    Effect.suspend(() => {
      entry.refs--
      if (entry.refs > 0 || entries.get(id) !== entry) return Effect.void
      entries.delete(id)
      return Scope.close(entry.scope, Exit.void)
    })
  const get = (config: C): Effect.Effect<A, E, Scope.Scope> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const id = options.key(config)
        let entry = entries.get(id)
        if (entry === undefined) {
          const created: Entry<A, E> = { refs: 0, scope: yield* Scope.make(), client: yield* Deferred.make<A, E>() }
          entries.set(id, created)
          entry = created
          const opened = yield* Effect.exit(restore(Scope.provide(options.open(config), created.scope)))
          if (Exit.isFailure(opened) && entries.get(id) === created) {
            // a failed client is not kept: the next node tries again
            entries.delete(id)
            yield* Scope.close(created.scope, opened)
          }
          yield* Deferred.done(created.client, opened)
        }
        entry.refs++
        yield* Effect.addFinalizer(() => release(id, entry))
        return yield* restore(Deferred.await(entry.client))
      })
    )
  return { get, open: () => [...entries.keys()] }
}

const hash = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 16)

/**
 * A key from what may be shown (`shown`: host, port, database, user — no secret) and the secrets
 * (hashed): equal for equal connections, different when a secret differs, and never holding one.
 *
 * @category keys
 * @since 0.4.0
 */
export const key = (shown: string, ...secrets: ReadonlyArray<string | Redacted.Redacted<string> | undefined>): string =>
  secrets.length === 0 ? shown : `${shown}#${hash(secrets.map((s) => (s === undefined ? "" : Redacted.isRedacted(s) ? Redacted.value(s) : s)).join("\u0000"))}`

/**
 * The key of a connection URL: the URL without its user's password (and without query parameters,
 * which may hold tokens), plus a hash of the whole URL.
 *
 * @category keys
 * @since 0.4.0
 */
export const urlKey = (url: string | Redacted.Redacted<string>): string => {
  const text = Redacted.isRedacted(url) ? Redacted.value(url) : url
  let shown: string
  try {
    const u = new URL(text)
    u.password = ""
    u.search = ""
    u.hash = ""
    shown = u.toString()
  } catch {
    shown = "(not a URL)"
  }
  return key(shown, text)
}

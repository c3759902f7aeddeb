/**
 * A custom sink built from the connector kit, as docs/connectors/writing-a-connector.md shows it
 * (the guide's block is this file's region): records into a Redis hash, one field per record.
 * The kit gives it the shared client (`Clients`), the codec (`Codecs`), retries, bisection of a
 * refused batch and dead letters (`SinkKit`, with the `Retry` and `DeadLetter` config pieces);
 * what is left is the client call. test/connectors/kit/KitExample.integration.test.ts runs the
 * sink conformance suite on it against the local Redis.
 */
// #region kit-sink
import { Clients, Codecs, Connector, DeadLetter, Errors, Retry, SinkKit, Spec } from "dataflare"
import { Effect, Schema } from "effect"
import { createClient } from "redis"

// on_error: fail | dead_letter, dead_letter: { path, max_bytes } added after these, and checked
const Config = DeadLetter.withErrorHandling({
  url: Schema.NonEmptyString,
  key: Schema.NonEmptyString, // the hash
  field: Schema.NonEmptyString, // the record field naming its hash field
  ...Retry.RetryFields // retry: { attempts, delay, max_delay }
})

// one client per Redis URL, shared by every node of a run that writes there
const redis = Clients.pool({
  key: (config: { readonly url: string }) => Clients.urlKey(config.url),
  open: (config: { readonly url: string }) =>
    Effect.acquireRelease(
      Effect.tryPromise({
        try: () => createClient({ url: config.url }).connect(),
        catch: (cause) => new Errors.ConnectionError({ message: `cannot connect to Redis: ${String(cause)}`, cause })
      }),
      (client) => Effect.promise(() => client.close())
    )
})

export const RedisHashSink = Connector.sink({
  type: "redis-hash",
  description: "Writes each record as JSON into a Redis hash field named by one of its fields",
  config: Config,
  // HSET overwrites a field: a replay writes the same value again (idempotent, like an upsert)
  capabilities: () => ({ guarantee: "exactly-once", transactional: true }),
  resources: (config) => ({ writes: [{ kind: "redis-hash", name: config.key, shared: true }, ...DeadLetter.resources(config)] }),
  check: () => Effect.void,
  open: (config, context) =>
    Effect.gen(function*() {
      const client = yield* Effect.mapError(
        redis.get(config),
        (reason) => new Errors.ConnectorError({ connector: "redis-hash", operation: "open", reason })
      )
      const codec = Codecs.json()
      return SinkKit.make({
        connector: "redis-hash",
        context,
        config,
        deadLetterContext: { key: config.key },
        // one HSET per batch: all of it or nothing, so a refused batch can be bisected
        writeBatch: (records: ReadonlyArray<{ readonly [field: string]: unknown }>) =>
          Effect.suspend((): Effect.Effect<number, Errors.RecordError | Retry.Retryable> => {
            const fields: Record<string, string> = {}
            for (const record of records) {
              const name = record[config.field]
              if (name === undefined || name === null) {
                return Effect.fail(new Errors.RecordError({ detail: `the record has no '${config.field}'`, record }))
              }
              const value = codec.encode(record)
              if (Codecs.isEncodeError(value)) return Effect.fail(value.toRecordError())
              fields[String(name)] = String(value)
            }
            return Effect.tryPromise({
              try: () => client.hSet(config.key, fields).then(() => records.length),
              catch: (cause) => new Retry.Retryable({ message: String(cause), cause }) // the server went away: retried
            })
          })
      })
    })
})

export const redisHash = (config: typeof Config.Encoded) => Spec.sink<{ readonly [field: string]: unknown }>("redis-hash", config)
// #endregion kit-sink

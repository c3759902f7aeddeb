/**
 * The `elasticsearch` sink: the Bulk API through the official client (`@elastic/elasticsearch`).
 *
 * - **Batches**: each batch the runtime hands over is sent as bulk requests of at most
 *   `batch_size` documents and `max_bytes` bytes of body, `concurrency` requests at once. Two
 *   operations on one `_id` within a batch are sent one after the other, in order.
 * - **Partial failures**: a bulk response reports each item. Items refused with 429, a 5xx or
 *   `es_rejected_execution_exception` (and every item of a request that failed on the way) are
 *   sent again — only those — after an exponential backoff with jitter (`retry`); a run whose
 *   items are still refused after the last attempt fails, naming the first one. Items refused for
 *   good (a mapping error, a 400, a `create` of an existing id, a record without a usable
 *   `id_field`) fail the run with a `RecordError` naming the document, status and reason
 *   (`on_error: fail`, the default), or go to `dead_letter.path` (`on_error: dead_letter`):
 *   nothing is dropped silently. A batch is written when every item is acknowledged or
 *   dead-lettered, so a checkpoint completes only then.
 * - **Guarantee**: with `id_field` (and `op` other than `create`), a replay after a restore
 *   writes the same documents again under the same ids: exactly-once by idempotence, and the
 *   plan says so. Without `id_field` Elasticsearch picks the ids, and a replay adds documents
 *   again: at-least-once. `create` refuses ids that exist, so a replay is rejected: at-least-once.
 * - **Credentials**: `api_key`, or `username` + `password`, written as `${ENV_VAR}`; never in a
 *   message or a log.
 *
 * @since 0.4.0
 */
import { Effect } from "effect"
import * as Connector from "../../Connector.ts"
import * as Spec from "../../Spec.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import { SinkConfig } from "./ElasticsearchConfig.ts"
import { classify } from "./ElasticsearchError.ts"
import { acquireClient, nodeName, sharedClient } from "./internal/client.ts"
import type { ClientOverrides } from "./internal/overrides.ts"
import { makeWriter } from "./internal/writer.ts"

/**
 * Whether the sink is exactly-once for a config: writes keyed by `id_field` that a replay
 * repeats to the same effect (`index`, `update`, `delete`; not `create`).
 *
 * @category getters
 * @since 0.4.0
 */
export const isIdempotent = (config: SinkConfig): boolean => config.id_field !== undefined && config.op !== "create"

/**
 * Opens the sink's writer with client options overridden (tests: `@elastic/elasticsearch-mock`).
 *
 * @category constructors
 * @since 0.4.0
 */
export const openWith = (overrides: ClientOverrides | undefined) => (config: SinkConfig, context: Connector.OpenContext) =>
  Effect.gen(function*() {
    const client = yield* sharedClient(config, overrides)
    return makeWriter(config, {
      transport: {
        bulk: (lines) => client.bulk({ operations: [...lines] }),
        refresh: () => client.indices.refresh({ index: config.index })
      },
      context
    })
  })

/**
 * The `elasticsearch` sink definition.
 *
 * @example
 * ```yaml
 * destinations:
 *   search:
 *     type: elasticsearch
 *     inputs: [orders]
 *     config:
 *       node: "${ES_URL}"
 *       api_key: "${ES_API_KEY}"
 *       index: orders
 *       id_field: order_id
 *       on_error: dead_letter
 *       dead_letter: { path: rejected.ndjson }
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const ElasticsearchSink: Connector.SinkDefinition<SinkConfig, unknown> = Connector.sink({
  type: "elasticsearch",
  description: "Writes documents to an Elasticsearch index with the Bulk API (exactly-once by id with id_field)",
  config: SinkConfig,
  capabilities: (config) => ({
    ...(isIdempotent(config)
      ? { guarantee: "exactly-once", guaranteeNote: "idempotent writes keyed by id_field" }
      : { guarantee: "at-least-once" }),
    transactional: false,
    preferredBatchSize: config.batch_size ?? 1000
  }),
  resources: (config) => ({
    writes: [
      // documents with ids only add or overwrite their own: other writers of the index are fine
      { kind: "elasticsearch-index", name: `${nodeName(config)} ${config.index}`, key: ["index"], shared: true },
      ...DeadLetter.resources(config)
    ]
  }),
  check: (config) =>
    Effect.scoped(
      Effect.gen(function*() {
        const client = yield* acquireClient(config)
        yield* Effect.tryPromise({ try: () => client.info(), catch: classify("check") })
      })
    ),
  open: openWith(undefined)
})

/**
 * A typed DSL spec of the `elasticsearch` sink accepting records of type `A`.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A = unknown>(config: typeof SinkConfig.Encoded): Spec.SinkSpec<A> => Spec.sink<A>("elasticsearch", config)

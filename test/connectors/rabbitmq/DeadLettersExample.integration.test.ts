/**
 * examples/rabbitmq-dead-letters.yaml against the local RabbitMQ: orders routed by their `queue`
 * field reach their queue once; an order without the field, one naming a queue that does not
 * exist (returned: `mandatory`) and one the full queue refuses (nacked: `x-overflow:
 * reject-publish`) are in the `rejected` destination once each, with their reasons.
 */
import { copyFile, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { tempDir } from "../../cli/support.ts"
import { linesOf, start } from "../brokerRuns.ts"
import { drain, URL, withBoundedQueue, withQueue } from "./support.ts"

const example = resolve(import.meta.dirname, "../../../examples/rabbitmq-dead-letters.yaml")

describe("examples/rabbitmq-dead-letters.yaml", () => {
  it.live("publishes each order to its queue once and sets aside, with the reason, the ones the broker will never take", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const big = yield* withQueue("df-example-big")
      const small = yield* withBoundedQueue("df-example-small", 1)
      const nowhere = `df-example-no-such-queue-${Math.random().toString(36).slice(2, 10)}`
      yield* Effect.promise(() => copyFile(example, join(dir, "wf.yaml")))
      const orders = Array.from({ length: 300 }, (_, i) => {
        const id = i + 1
        if (id === 50) return { id }
        if (id === 120) return { id, queue: nowhere }
        if (id === 200 || id === 201) return { id, queue: small }
        return { id, queue: big }
      })
      yield* Effect.promise(() => writeFile(join(dir, "orders.ndjson"), orders.map((o) => JSON.stringify(o)).join("\n") + "\n"))
      const ended = yield* (yield* start(dir, { RABBITMQ_URL: URL })).ended
      assert.strictEqual(ended.code, 0, ended.stderr)
      assert.deepStrictEqual(
        (yield* drain(big)).map((b) => JSON.parse(b).id),
        orders.filter((o) => o.queue === big).map((o) => o.id)
      )
      assert.deepStrictEqual((yield* drain(small)).map((b) => JSON.parse(b).id), [200])
      const rejected = (yield* linesOf(dir, "rejected.ndjson")).map((l) => JSON.parse(l) as { node: string; error: string; source: string; record: { id: number } })
      assert.deepStrictEqual(rejected.map((r) => r.record.id).sort((a, b) => a - b), [50, 120, 201])
      const reason = (id: number) => rejected.find((r) => r.record.id === id)?.error ?? ""
      assert.match(reason(50), /the routing key field 'queue' is missing/)
      assert.match(reason(120), /returned the message: no queue takes routing key .* \(312 NO_ROUTE\)/)
      assert.match(reason(201), /refused the message \(nack\)/)
      for (const r of rejected) {
        assert.strictEqual(r.node, "queues")
        assert.strictEqual(r.source, "orders")
      }
    }).pipe(Effect.scoped), 120_000)
})

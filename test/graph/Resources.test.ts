/**
 * Declared resources and parallelism, through `Runtime.prepare`, for any connector: a third-party
 * definition's own kind of resource, a file reached through a hard link, a DSL graph (no file to
 * point at), and a node overridden in a test (its connector replaced, so its declarations too).
 */
import { link, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as Builtins from "../../src/Builtins.ts"
import * as Connector from "../../src/Connector.ts"
import { DefinitionError, formatIssue } from "../../src/Errors.ts"
import * as Overrides from "../../src/Overrides.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as Testing from "../../src/testing/Testing.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

const QueueConfig = Schema.Struct({ queue: Schema.String })

/** A broker-like pair of connectors: they read and write named queues, one consumer at most. */
const QueueSource = Connector.source({
  type: "queue",
  description: "test",
  config: QueueConfig,
  capabilities: () => ({ seekable: false, unbounded: false, maxParallelism: 1 }),
  resources: (config) => ({ reads: [{ kind: "queue", name: config.queue, key: ["queue"] }] }),
  check: () => Effect.void,
  open: () => Effect.die("not opened in these tests")
})
const QueueSink = Connector.sink({
  type: "queue",
  description: "test",
  config: QueueConfig,
  capabilities: () => ({ guarantee: "at-least-once", transactional: false, maxParallelism: 2 }),
  resources: (config) => ({ writes: [{ kind: "queue", name: config.queue, key: ["queue"] }] }),
  check: () => Effect.void,
  open: () => Effect.die("not opened in these tests")
})

const registry = Registry.layer([...Builtins.definitions, QueueSource, QueueSink])

const node = (kind: WorkflowGraph.NodeKind, id: string, type: string, config: unknown, inputs: ReadonlyArray<string> = [], parallelism?: number): WorkflowGraph.Node => ({
  kind,
  id,
  type,
  config,
  inputs,
  ...(parallelism !== undefined ? { parallelism } : {})
})

const problems = (graph: WorkflowGraph.WorkflowGraph, layer: Layer.Layer<never> = Layer.empty) =>
  Runtime.prepare(graph).pipe(
    Effect.flip,
    Effect.map((error) => {
      assert.instanceOf(error, DefinitionError)
      return error.issues.map(formatIssue)
    }),
    Effect.provide(Layer.merge(registry, layer))
  )

const tempDir = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-resources-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

describe("declared resources and parallelism (Runtime.prepare)", () => {
  it.effect("a connector's own kind of resource: writing the queue the source reads, and two writers of one queue", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "queues",
        nodes: [
          node("source", "in", "queue", { queue: "orders" }),
          node("sink", "loop", "queue", { queue: "orders" }, ["in"]),
          node("sink", "a", "queue", { queue: "out" }, ["in"]),
          node("sink", "b", "queue", { queue: "out" }, ["in"]),
          node("sink", "c", "queue", { queue: "other" }, ["in"])
        ]
      })
      assert.deepStrictEqual(yield* problems(graph), [
        "nodes.loop.config.queue: the queue 'orders' is read by source 'in': the workflow would read what it writes; write to another queue",
        "nodes.b.config.queue: the queue 'out' is also written by destination 'a': two writers of one queue lose each other's records; give each its own queue"
      ])
    }))

  it.effect("a hard link to the source's file is the same file", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const input = join(dir, "in.ndjson")
      yield* Effect.promise(() => writeFile(input, "{\"id\":1}\n"))
      yield* Effect.promise(() => link(input, join(dir, "alias.ndjson")))
      const graph = WorkflowGraph.make({
        name: "hard-link",
        nodes: [
          node("source", "in", "ndjson", { path: input }),
          node("sink", "out", "ndjson", { path: join(dir, "alias.ndjson") }, ["in"])
        ]
      })
      const found = yield* problems(graph)
      assert.strictEqual(found.length, 1)
      assert.match(found[0], /^nodes\.out\.config\.path: the file '.*alias\.ndjson' is '.*in\.ndjson', read by source 'in': /)
    })))

  it.effect("an overridden node declares nothing: a test may replace the sink that writes the input", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "overridden",
        nodes: [node("source", "in", "ndjson", { path: "same.ndjson" }), node("sink", "out", "ndjson", { path: "same.ndjson" }, ["in"])]
      })
      assert.strictEqual((yield* problems(graph)).length, 1)
      const collector = yield* Testing.collector()
      const prepared = yield* Runtime.prepare(graph).pipe(
        Effect.provide(Layer.merge(registry, Overrides.layer({ out: collector.sink })))
      )
      assert.strictEqual(prepared.nodes.length, 2)
    }))

  it.effect("execution.parallelism applies up to a connector's maximum; an explicit larger one is refused", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "limits",
        execution: { parallelism: 3 },
        nodes: [
          node("source", "in", "queue", { queue: "a" }),
          node("processor", "f", "filter", { condition: "true" }, ["in"]),
          node("sink", "out", "queue", { queue: "b" }, ["f"])
        ]
      })
      const prepared = yield* Runtime.prepare(graph).pipe(Effect.provide(registry))
      assert.deepStrictEqual(prepared.nodes.map((n) => [n.node.id, n.parallelism]), [["in", 1], ["f", 3], ["out", 2]])
      const explicit = WorkflowGraph.make({
        name: "limits",
        nodes: [node("source", "in", "queue", { queue: "a" }, [], 2), node("sink", "out", "queue", { queue: "b" }, ["in"], 2)]
      })
      assert.deepStrictEqual(yield* problems(explicit), [
        "nodes.in.parallelism: the queue source runs at most 1 instance, got parallelism 2; set parallelism: 1 or remove it"
      ])
    }))
})

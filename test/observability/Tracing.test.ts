/**
 * OTLP traces: a small OTLP/HTTP receiver in the test collects what Effect's exporter posts to
 * `/v1/traces` when `OTEL_EXPORTER_OTLP_ENDPOINT` points at it — in process, and from the CLI.
 */
import { createServer, type Server } from "node:http"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Tracer } from "effect"
import * as Observability from "../../src/Observability.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { cli, tempDir } from "../cli/support.ts"
import { definitions } from "../runtime/support.ts"

interface OtlpValue {
  readonly stringValue?: string
  readonly intValue?: string | number
  readonly boolValue?: boolean
}
interface OtlpSpan {
  readonly name: string
  readonly startTimeUnixNano: string
  readonly endTimeUnixNano: string
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: OtlpValue }>
}
interface Received {
  readonly path: string
  readonly service: string | undefined
  readonly spans: ReadonlyArray<OtlpSpan>
}

/** An OTLP/HTTP JSON receiver on a free port; collects every export it gets. */
const receiver = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<{ readonly url: string; readonly received: Array<Received>; readonly server: Server }>((resolve) => {
      const received: Array<Received> = []
      const server = createServer((request, response) => {
        let body = ""
        request.on("data", (chunk) => (body += String(chunk)))
        request.on("end", () => {
          const data = JSON.parse(body) as {
            resourceSpans: Array<{
              resource: { attributes: Array<{ key: string; value: OtlpValue }> }
              scopeSpans: Array<{ spans: Array<OtlpSpan> }>
            }>
          }
          for (const rs of data.resourceSpans) {
            received.push({
              path: request.url ?? "",
              service: rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue,
              spans: rs.scopeSpans.flatMap((s) => s.spans)
            })
          }
          response.writeHead(200, { "content-type": "application/json" })
          response.end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resolve({ url: `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`, received, server })
      })
    })
  ),
  ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
)

const attribute = (span: OtlpSpan, key: string): string | number | boolean | undefined => {
  const v = span.attributes.find((a) => a.key === key)?.value
  return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : v?.boolValue)
}

const graph = WorkflowGraph.make({
  name: "traced",
  execution: { batch_size: 50, checkpoint_interval: "20ms" },
  nodes: [
    { kind: "source", id: "nums", type: "numbers", config: { count: 3000, delay_ms: 2 }, inputs: [] },
    { kind: "sink", id: "out", type: "collect_test", config: { name: "traced-out", delay_ms: 1 }, inputs: ["nums"] }
  ]
})

const withEnv = (env: Record<string, string>) => Layer.provide(Observability.layerTracing, ConfigProvider.layer(ConfigProvider.fromEnv({ env })))

describe("OTLP traces", () => {
  it.live("with OTEL_EXPORTER_OTLP_ENDPOINT set, checkpoints, connector open/commit and sampled batches reach the receiver", () =>
    Effect.gen(function*() {
      const otlp = yield* receiver
      yield* Runtime.run(graph).pipe(
        Effect.provide(Layer.merge(Registry.layer(definitions), withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_SERVICE_NAME: "df-test" })))
      )
      // the exporter flushes when its layer closes (at the end of the run above)
      const spans = otlp.received.flatMap((r) => r.spans)
      assert.isTrue(otlp.received.every((r) => r.path === "/v1/traces" && r.service === "df-test"))
      const named = (name: string) => spans.filter((s) => s.name === name)
      const checkpoints = named("dataflare.checkpoint")
      assert.isAbove(checkpoints.length, 1)
      assert.strictEqual(attribute(checkpoints[0], "workflow"), "traced")
      assert.isNumber(attribute(checkpoints[0], "checkpoint"))
      // a checkpoint span lasts from its request to its completion
      assert.isTrue(checkpoints.every((s) => BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano)))
      assert.strictEqual(attribute(named("dataflare.source.open")[0], "node"), "nums")
      assert.strictEqual(attribute(named("dataflare.sink.open")[0], "node"), "out")
      assert.isAbove(named("dataflare.source.commit").length, 0)
      const batches = named("dataflare.batch")
      assert.isAbove(batches.length, 0)
      assert.strictEqual(attribute(batches[0], "node"), "out")
      assert.strictEqual(attribute(batches[0], "source"), "nums")
      assert.isAbove(Number(attribute(batches[0], "records")), 0)
      // sampled: far fewer batch spans than batches (3000 records / 50 = 60 batches in well over a second)
      assert.isBelow(batches.length, 60)
    }), { timeout: 60_000 })

  it.live("without it, no tracer is installed and nothing is exported", () =>
    Effect.gen(function*() {
      const tracer = yield* Effect.tracer.pipe(Effect.provide(withEnv({})))
      assert.strictEqual(tracer, Tracer.nativeTracer)
      const off = yield* Effect.tracer.pipe(Effect.provide(withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_SDK_DISABLED: "true" })))
      assert.strictEqual(off, Tracer.nativeTracer)
    }))

  it.live("a malformed endpoint is refused, naming the variable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" })).pipe(Effect.scoped))
      assert.strictEqual(error._tag, "ObservabilityError")
      assert.include(error.message, "OTEL_EXPORTER_OTLP_ENDPOINT")
    }))

  it.live("dataflare run exports to the endpoint in its environment", () =>
    Effect.gen(function*() {
      const otlp = yield* receiver
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "orders.csv"), "id,amount\n1,10\n2,20\n3,30\n"))
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "wf.yaml"),
          `name: traced-cli
sources:
  orders: { type: csv, config: { path: orders.csv, columns: { id: integer, amount: number } } }
destinations:
  out: { type: ndjson, inputs: [orders], config: { path: out.ndjson } }
`
        )
      )
      const result = yield* cli(["run", "wf.yaml", "--quiet"], { cwd: dir, env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url } })
      assert.strictEqual(result.status, 0, result.stderr)
      const names = new Set(otlp.received.flatMap((r) => r.spans.map((s) => s.name)))
      assert.isTrue(names.has("dataflare.checkpoint"), [...names].join(", "))
      assert.isTrue(names.has("dataflare.source.open"))
      assert.isTrue(names.has("dataflare.sink.commit") || names.has("dataflare.sink.open"))
      assert.strictEqual(otlp.received[0].service, "dataflare")
    }), { timeout: 60_000 })
})

/**
 * An `effect/http` endpoint that streams a pipeline's output as NDJSON: `GET /large-orders?min=N`
 * reads a CSV of orders, keeps the active ones with `amount >= min`, reshapes them, and writes
 * each record to the response as it comes out of the pipeline (`Pipeline.toStream`): nothing is
 * collected in memory first, a slow client slows the pipeline, and a client that goes away stops
 * the run (the CSV file is closed).
 *
 *   node_modules/.bin/node --conditions=dataflare-source examples/dsl-http-stream.ts [record count]
 *
 * The example starts the server on a free port, calls the endpoint once as a client would,
 * prints what it received, and stops.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Stream } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { Builtins } from "dataflare"
import { Csv, Pipeline } from "dataflare/dsl"

const count = Number(process.argv[2] ?? 10_000)

/** The pipeline, without a sink: the HTTP response is where its records go. */
const largeOrders = (path: string, min: number) =>
  Pipeline.from(
    "orders",
    Csv.source({
      path,
      columns: { id: "integer", customer: "string", status: "string", amount: "number" },
      required: ["id", "amount"]
    })
  )
    .named("http-large-orders")
    .filter("active", "status == 'active'")
    .filter("large", (r) => r.amount >= min)
    .map("reshaped", (r) => ({ id: r.id, customer: r.customer.toLowerCase(), amount: r.amount }))

/** `GET /large-orders?min=N`: the pipeline's records, one JSON object per line. */
const routes = (path: string) =>
  HttpRouter.add(
    "GET",
    "/large-orders",
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const min = Number(new URL(request.url, "http://localhost").searchParams.get("min") ?? 250)
      const body = Pipeline.toStream(largeOrders(path, min)).pipe(
        Stream.map((record) => `${JSON.stringify(record)}\n`),
        Stream.encodeText,
        Stream.provide(Builtins.layer)
      )
      return HttpServerResponse.stream(body, { contentType: "application/x-ndjson" })
    })
  )

const program = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-http-"))),
    (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
  )
  const input = join(dir, "orders.csv")
  let csv = "id,customer,status,amount\n"
  for (let i = 1; i <= count; i++) csv += `${i},Customer ${i % 97},${i % 5 === 0 ? "cancelled" : "active"},${(i * 37) % 500}\n`
  yield* Effect.promise(() => writeFile(input, csv))

  // the server, on a free port of the loopback interface
  const server = HttpRouter.serve(routes(input), { disableListenLog: true, disableLogger: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )
  // a client of the endpoint
  yield* HttpServer.addressFormattedWith((base) =>
    Effect.gen(function*() {
      const response = yield* Effect.promise(() => fetch(`${base}/large-orders?min=400`))
      const text = yield* Effect.promise(() => response.text())
      const lines = text.trim().split("\n")
      yield* Console.log(`GET /large-orders?min=400: ${response.status} ${response.headers.get("content-type")}`)
      yield* Console.log(`${lines.length} records streamed`)
      yield* Console.log(`first record: ${lines[0]}`)
    })
  ).pipe(Effect.provide(server))
})

NodeRuntime.runMain(Effect.scoped(program))

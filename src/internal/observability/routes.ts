/**
 * The routes of the observability HTTP server, all read-only:
 *
 * - `GET /metrics`: every metric in Effect's registry (the runs' series and any of the
 *   application's own) in the Prometheus text format, through `PrometheusMetrics`.
 * - `GET /ping`: 200 while the process lives.
 * - `GET /ready`: 200 when every running workflow is ready, 503 otherwise; the JSON body says
 *   which node of which workflow it waits for and why.
 * - `GET /api/runs`: `{ now, runs }`: the server's clock and the runs as JSON (`RunSnapshot`), what
 *   the dashboard draws.
 * - `GET /`: the dashboard (one self-contained HTML page: no CDN, no build step).
 */
import { Clock, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { Monitor } from "../../Monitor.ts"
import { DASHBOARD_HTML } from "./dashboard.ts"

const noStore = { "cache-control": "no-store" }

/** The routes, as a layer over an `HttpRouter`. */
export const routes: Layer.Layer<never, never, HttpRouter.HttpRouter | Monitor> = Layer.effectDiscard(Effect.gen(function*() {
  const monitor = yield* Monitor
  const router = yield* HttpRouter.HttpRouter
  yield* router.add(
    "GET",
    "/metrics",
    Effect.gen(function*() {
      yield* monitor.sync
      const body = yield* PrometheusMetrics.format()
      return HttpServerResponse.text(body, { contentType: "text/plain; version=0.0.4; charset=utf-8", headers: noStore })
    })
  )
  yield* router.add("GET", "/ping", HttpServerResponse.jsonUnsafe({ status: "ok" }, { headers: noStore }))
  yield* router.add(
    "GET",
    "/ready",
    Effect.map(monitor.readiness, (r) =>
      HttpServerResponse.jsonUnsafe(
        r.ready ? { status: "ready" } : { status: "not ready", waiting: r.notReady },
        { status: r.ready ? 200 : 503, headers: noStore }
      ))
  )
  yield* router.add(
    "GET",
    "/api/runs",
    Effect.gen(function*() {
      const runs = yield* monitor.runs
      // the server's clock, so that ages shown by a browser elsewhere do not depend on its clock
      return HttpServerResponse.jsonUnsafe({ now: yield* Clock.currentTimeMillis, runs }, { headers: noStore })
    })
  )
  yield* router.add("GET", "/", HttpServerResponse.text(DASHBOARD_HTML, { contentType: "text/html; charset=utf-8", headers: noStore }))
}))

/**
 * A small Elasticsearch over real HTTP (`node:http`) for the connector's tests: enough of the
 * REST API for the official client — `GET /` (info), `_bulk` with per-item results, `_pit`
 * (open and close), `_search` with a point in time, `sort` and `search_after`, `_refresh` — and
 * the `X-Elastic-Product: Elasticsearch` header the client checks on every response.
 *
 * Failures are injected per item by `decide` (e.g. 429 for the first attempts of some ids, a
 * mapping error for a field of the wrong type); every write is logged so a test can tell that a
 * document was written, and how many times.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { Effect, type Scope } from "effect"

/** An item of a bulk request as the fake saw it. */
export interface BulkRequestItem {
  readonly op: "index" | "create" | "update" | "delete"
  readonly index: string
  readonly id: string | undefined
  readonly routing: string | undefined
  readonly source: unknown
  /** How many times an item with this id (or this source, without id) was sent before. */
  readonly attempt: number
}

/** An item's result forced by a test: a status and an error type and reason. */
export interface Forced {
  readonly status: number
  readonly type: string
  readonly reason: string
}

/** Options of the fake. */
export interface FakeOptions {
  /** Called for each bulk item before it is applied: a forced failure, or `undefined` to apply it. */
  readonly decide?: (item: BulkRequestItem) => Forced | undefined
  /** Waits this long before answering a `_bulk` request (ms). */
  readonly bulkDelay?: number
  /** Answers a whole `_bulk` request with this status (e.g. 503) while it returns a number. */
  readonly failRequest?: (requestNumber: number) => number | undefined
}

/** A `decide` refusing, as a `double` mapping does, the documents whose `amount` is not a number (400). */
export const amountMustBeNumber = (item: BulkRequestItem): Forced | undefined =>
  typeof (item.source as { amount?: unknown }).amount === "number"
    ? undefined
    : { status: 400, type: "document_parsing_exception", reason: "failed to parse field [amount] of type [double]" }

/** The fake's state, for assertions. */
export interface Fake {
  readonly url: string
  /** index → id → source. */
  readonly indices: Map<string, Map<string, unknown>>
  /** Every applied write (index/create/update/delete), in order. */
  readonly writes: Array<{ readonly op: string; readonly index: string; readonly id: string }>
  /** Every bulk request's items, in order. */
  readonly requests: Array<ReadonlyArray<BulkRequestItem>>
  /** Every search request body. */
  readonly searches: Array<unknown>
  /** Open points in time. */
  readonly pits: Map<string, { readonly index: string; readonly docs: ReadonlyArray<{ readonly id: string; readonly source: unknown }> }>
  /** Puts documents into an index directly (no bulk). */
  readonly seed: (index: string, docs: ReadonlyArray<{ readonly id: string; readonly source: unknown }>) => void
}

const HEADERS = { "content-type": "application/json", "x-elastic-product": "Elasticsearch" }

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, HEADERS)
  res.end(JSON.stringify(body))
}

const read = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const errorBody = (status: number, type: string, reason: string) => ({ error: { type, reason, root_cause: [{ type, reason }] }, status })

const get = (source: unknown, field: string): unknown =>
  source !== null && typeof source === "object" ? (source as { readonly [k: string]: unknown })[field] : undefined

const compare = (a: unknown, b: unknown): number => {
  if (typeof a === "number" && typeof b === "number") return a - b
  const x = String(a)
  const y = String(b)
  return x < y ? -1 : x > y ? 1 : 0
}

const matches = (query: unknown, source: unknown): boolean => {
  if (query === undefined || get(query, "match_all") !== undefined) return true
  const term = get(query, "term")
  if (term !== undefined && term !== null && typeof term === "object") {
    return Object.entries(term).every(([f, v]) => get(source, f) === (get(v, "value") ?? v))
  }
  const range = get(query, "range")
  if (range !== undefined && range !== null && typeof range === "object") {
    return Object.entries(range).every(([f, bounds]) => {
      const value = get(source, f)
      const gte = get(bounds, "gte")
      const lt = get(bounds, "lt")
      return (gte === undefined || compare(value, gte) >= 0) && (lt === undefined || compare(value, lt) < 0)
    })
  }
  throw new Error(`the fake does not understand the query ${JSON.stringify(query)}`)
}

/** Starts the fake on a free port of 127.0.0.1; closed with the scope. */
export const fakeElasticsearch = (options: FakeOptions = {}): Effect.Effect<Fake, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => {
      const indices = new Map<string, Map<string, unknown>>()
      const writes: Fake["writes"] = []
      const requests: Fake["requests"] = []
      const searches: Array<unknown> = []
      const pits: Fake["pits"] = new Map()
      const attempts = new Map<string, number>()
      let autoId = 0
      let pitCount = 0
      let bulkCount = 0
      const indexOf = (name: string) => {
        let index = indices.get(name)
        if (index === undefined) indices.set(name, index = new Map())
        return index
      }

      const bulk = (path: string, text: string) => {
        const lines = text.split("\n").filter((l) => l.length > 0)
        const defaultIndex = /^\/([^_/][^/]*)\/_bulk/u.exec(path)?.[1]
        const items: Array<BulkRequestItem> = []
        for (let i = 0; i < lines.length; i++) {
          const action = JSON.parse(lines[i]) as { readonly [op: string]: { _index?: string; _id?: string; routing?: string } }
          const op = Object.keys(action)[0] as BulkRequestItem["op"]
          const meta = action[op]
          const source = op === "delete" ? undefined : JSON.parse(lines[++i])
          const key = meta._id ?? JSON.stringify(source)
          const attempt = attempts.get(key) ?? 0
          attempts.set(key, attempt + 1)
          items.push({ op, index: meta._index ?? defaultIndex ?? "", id: meta._id, routing: meta.routing, source, attempt })
        }
        requests.push(items)
        const results = items.map((item) => {
          const forced = options.decide?.(item)
          if (forced !== undefined) {
            return { [item.op]: { _index: item.index, _id: item.id ?? null, status: forced.status, error: { type: forced.type, reason: forced.reason } } }
          }
          const index = indexOf(item.index)
          const id = item.id ?? `auto-${++autoId}`
          if (item.op === "create" && index.has(id)) {
            return { create: { _index: item.index, _id: id, status: 409, error: { type: "version_conflict_engine_exception", reason: `[${id}]: version conflict, document already exists` } } }
          }
          if (item.op === "delete") {
            const existed = index.delete(id)
            writes.push({ op: "delete", index: item.index, id })
            return { delete: { _index: item.index, _id: id, status: existed ? 200 : 404, result: existed ? "deleted" : "not_found" } }
          }
          if (item.op === "update") {
            const doc = get(item.source, "doc")
            const previous = index.get(id)
            index.set(id, { ...(previous !== null && typeof previous === "object" ? previous : {}), ...(doc as object) })
          } else index.set(id, item.source)
          writes.push({ op: item.op, index: item.index, id })
          return { [item.op]: { _index: item.index, _id: id, status: item.op === "update" ? 200 : 201, result: "created" } }
        })
        return { took: 1, errors: results.some((r) => "error" in Object.values(r)[0]), items: results }
      }

      const search = (body: {
        readonly pit?: { readonly id: string }
        readonly size?: number
        readonly sort?: ReadonlyArray<{ readonly [field: string]: string | { readonly order?: string } }>
        readonly search_after?: ReadonlyArray<unknown>
        readonly query?: unknown
      }) => {
        searches.push(body)
        const pit = body.pit === undefined ? undefined : pits.get(body.pit.id)
        if (pit === undefined) return [404, errorBody(404, "search_phase_execution_exception", "No search context found for id [pit]")] as const
        const sort = (body.sort ?? []).map((s) => {
          const [field, spec] = Object.entries(s)[0]
          return { field, desc: (typeof spec === "string" ? spec : spec.order) === "desc" }
        })
        // like Elasticsearch: a point in time search gets the _shard_doc tiebreaker, unless
        // search_after has exactly one value per sort field
        const implicit = !sort.some((s) => s.field === "_shard_doc") &&
          (body.search_after === undefined || body.search_after.length !== sort.length)
        const keys = implicit ? [...sort, { field: "_shard_doc", desc: false }] : sort
        const hits = pit.docs
          .map((doc, shardDoc) => ({ doc, values: keys.map((k) => (k.field === "_shard_doc" ? shardDoc : get(doc.source, k.field))) }))
          .filter((h) => matches(body.query, h.doc.source))
        const order = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) => {
          for (let i = 0; i < Math.min(a.length, b.length); i++) {
            const c = compare(a[i], b[i]) * (keys[i].desc ? -1 : 1)
            if (c !== 0) return c
          }
          return 0
        }
        hits.sort((a, b) => order(a.values, b.values))
        const after = body.search_after
        const page = (after === undefined ? hits : hits.filter((h) => order(h.values, after) > 0)).slice(0, body.size ?? 10)
        return [200, {
          pit_id: body.pit!.id,
          took: 1,
          timed_out: false,
          hits: {
            total: { value: hits.length, relation: "eq" },
            hits: page.map((h) => ({ _index: pit.index, _id: h.doc.id, _score: null, _source: h.doc.source, sort: h.values }))
          }
        }] as const
      }

      const server = createServer((req, res) => {
        void (async () => {
          const url = new URL(req.url ?? "/", "http://fake")
          const text = await read(req)
          const path = url.pathname
          if (req.method === "GET" && path === "/") {
            return send(res, 200, { name: "fake", cluster_name: "fake", version: { number: "9.1.0", build_flavor: "default" }, tagline: "You Know, for Search" })
          }
          if (path.endsWith("/_bulk")) {
            const n = ++bulkCount
            const failed = options.failRequest?.(n)
            if (options.bulkDelay !== undefined) await new Promise((r) => setTimeout(r, options.bulkDelay))
            if (failed !== undefined) return send(res, failed, errorBody(failed, failed === 429 ? "es_rejected_execution_exception" : "unavailable", "injected"))
            return send(res, 200, bulk(path, text))
          }
          if (path.endsWith("/_refresh")) return send(res, 200, { _shards: { total: 1, successful: 1, failed: 0 } })
          if (req.method === "DELETE" && path === "/_pit") {
            const id = (JSON.parse(text) as { id: string }).id
            return send(res, 200, { succeeded: pits.delete(id), num_freed: 1 })
          }
          const pitMatch = /^\/([^/]+)\/_pit$/u.exec(path)
          if (pitMatch !== null) {
            const index = indices.get(decodeURIComponent(pitMatch[1]))
            if (index === undefined) return send(res, 404, errorBody(404, "index_not_found_exception", `no such index [${pitMatch[1]}]`))
            const id = `pit-${++pitCount}`
            pits.set(id, { index: pitMatch[1], docs: [...index].map(([docId, source]) => ({ id: docId, source })) })
            return send(res, 200, { id })
          }
          if (path === "/_search") {
            const [status, body] = search(JSON.parse(text))
            return send(res, status, body)
          }
          send(res, 400, errorBody(400, "illegal_argument_exception", `the fake does not serve ${req.method} ${path}`))
        })().catch((e: unknown) => send(res, 500, errorBody(500, "fake_failure", String(e))))
      })
      return new Promise<Fake & { readonly close: () => Promise<void> }>((resolve) => {
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          const port = typeof address === "object" && address !== null ? address.port : 0
          resolve({
            url: `http://127.0.0.1:${port}`,
            indices,
            writes,
            requests,
            searches,
            pits,
            seed: (name, docs) => {
              const index = indexOf(name)
              for (const d of docs) index.set(d.id, d.source)
            },
            close: () =>
              new Promise<void>((done) => {
                server.closeAllConnections()
                server.close(() => done())
              })
          })
        })
      })
    }),
    (fake) => Effect.promise(() => fake.close())
  )

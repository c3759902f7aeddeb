/**
 * A MongoClient-shaped fake for the `mongodb` connectors' tests: it implements the small
 * interface the connectors use (`internal/port.ts`) — unordered `bulkWrite` with per-operation
 * write errors (duplicate key 11000, validation 121, or any code a test forces), `find` with
 * `_id` ranges, `watch` with resume tokens — over in-memory collections. No module mocking: the
 * connector definitions are built with `make(fake.connect)`.
 */
import { BSON, type Document, ObjectId } from "mongodb"
import type { ChangeStreamPort, ClientPort, CollectionPort, Connect } from "../../../src/connectors/mongodb/internal/port.ts"

/** A write error a test forces for an operation: its code and message. */
export interface ForcedError {
  readonly code: number
  readonly errmsg: string
}

/** What a test can inject. */
export interface FakeOptions {
  /** Called for each operation before it is applied (`attempt`: how often one on this id came before). */
  readonly decide?: (operation: Document, attempt: number) => ForcedError | undefined
  /** Fails the n-th `bulkWrite` call (1-based) as a whole with this error, when it returns one. */
  readonly failCall?: (n: number) => unknown
  /** A document the collection's validator refuses (code 121). */
  readonly invalid?: (doc: Document) => boolean
}

/** The fake's state, for assertions. */
export interface FakeMongo {
  readonly connect: Connect
  /** `database.collection` → canonical Extended JSON of `_id` → document. */
  readonly collections: Map<string, Map<string, Document>>
  /** Every bulkWrite's operations and options. */
  readonly calls: Array<{ readonly operations: ReadonlyArray<Document>; readonly options: Document }>
  /** Every applied write, in order (`insert`, `update`, `replace`), by id key. */
  readonly writes: Array<{ readonly op: string; readonly id: string }>
  /** Open clients. */
  readonly open: () => number
  /** The documents of a collection in `_id` order. */
  readonly documents: (ns: string) => Array<Document>
  /** Puts documents into a collection directly (no change events). */
  readonly seed: (ns: string, docs: ReadonlyArray<Document>) => void
  /** Appends a change event to a collection's log (as a write by another client would). */
  readonly emit: (ns: string, event: Document) => void
}

const key = (id: unknown): string => BSON.EJSON.stringify(id as Document, { relaxed: false })

const compare = (a: unknown, b: unknown): number => {
  if (a instanceof ObjectId && b instanceof ObjectId) return a.toHexString() < b.toHexString() ? -1 : a.toHexString() > b.toHexString() ? 1 : 0
  if (typeof a === "number" && typeof b === "number") return a - b
  const x = String(a)
  const y = String(b)
  return x < y ? -1 : x > y ? 1 : 0
}

const sameType = (a: unknown, b: unknown) => (a instanceof ObjectId) === (b instanceof ObjectId) && typeof a === typeof b

const matches = (filter: Document, doc: Document): boolean =>
  Object.entries(filter).every(([field, cond]) => {
    if (field === "$and") return (cond as Array<Document>).every((f) => matches(f, doc))
    const value = doc[field]
    if (cond !== null && typeof cond === "object" && !(cond instanceof ObjectId) && "$gt" in cond) {
      return sameType(value, cond.$gt) && compare(value, cond.$gt) > 0
    }
    return key(value) === key(cond)
  })

/** A fake MongoDB. */
export const fakeMongo = (options: FakeOptions = {}): FakeMongo => {
  const collections = new Map<string, Map<string, Document>>()
  const logs = new Map<string, Array<Document>>()
  const calls: FakeMongo["calls"] = []
  const writes: FakeMongo["writes"] = []
  const attempts = new Map<string, number>()
  let clients = 0
  let callCount = 0
  let tokenCount = 0
  const coll = (ns: string) => {
    let c = collections.get(ns)
    if (c === undefined) collections.set(ns, c = new Map())
    return c
  }
  const log = (ns: string) => {
    let l = logs.get(ns)
    if (l === undefined) logs.set(ns, l = [])
    return l
  }
  const emit = (ns: string, event: Document) => log(ns).push({ _id: { _data: String(++tokenCount).padStart(8, "0") }, ...event })

  const collection = (ns: string): CollectionPort => ({
    bulkWrite: (operations, opts) => {
      calls.push({ operations: operations as ReadonlyArray<Document>, options: opts })
      const failed = options.failCall?.(++callCount)
      if (failed !== undefined) return Promise.reject(failed)
      const docs = coll(ns)
      const writeErrors: Array<{ index: number; code: number; errmsg: string }> = []
      for (let index = 0; index < operations.length; index++) {
        const raw = operations[index]
        const op = raw as Document
        const kind = Object.keys(op)[0]
        const spec = op[kind] as Document
        const filter: Document | undefined = spec.filter
        const idGuess = kind === "insertOne" ? spec.document._id : filter?._id ?? (filter !== undefined ? Object.values(filter)[0] : undefined)
        const attemptKey = key(idGuess ?? null)
        const attempt = attempts.get(attemptKey) ?? 0
        attempts.set(attemptKey, attempt + 1)
        const forced = options.decide?.(op, attempt)
        if (forced !== undefined) {
          writeErrors.push({ index, ...forced })
          continue
        }
        const find = (f: Document) => [...docs.values()].find((d) => matches(f, d))
        let next: Document
        if (kind === "insertOne") {
          next = { ...spec.document }
          if (next._id === undefined) next = { _id: new ObjectId(), ...next }
          if (docs.has(key(next._id))) {
            writeErrors.push({ index, code: 11000, errmsg: `E11000 duplicate key error collection: ${ns} index: _id_ dup key: { _id: ${key(next._id)} }` })
            continue
          }
        } else {
          const existing = find(filter!)
          const base: Document = existing ?? { _id: filter!._id ?? new ObjectId(), ...(filter!._id === undefined ? filter : {}) }
          next = kind === "updateOne" ? { ...base, ...spec.update.$set } : { _id: base._id, ...(filter!._id === undefined ? filter : {}), ...spec.replacement }
        }
        if (options.invalid?.(next) === true) {
          writeErrors.push({ index, code: 121, errmsg: "Document failed validation" })
          continue
        }
        docs.set(key(next._id), next)
        writes.push({ op: kind, id: key(next._id) })
        emit(ns, { operationType: kind === "insertOne" ? "insert" : kind === "updateOne" ? "update" : "replace", documentKey: { _id: next._id }, fullDocument: next, wallTime: new Date() })
      }
      if (writeErrors.length > 0) {
        return Promise.reject(Object.assign(new Error(writeErrors[0].errmsg), { name: "MongoBulkWriteError", code: writeErrors[0].code, writeErrors, result: {} }))
      }
      return Promise.resolve({ ok: 1 })
    },
    find: (filter, opts) => ({
      toArray: () =>
        Promise.resolve(
          [...coll(ns).values()].filter((d) => matches(filter, d)).sort((a, b) => compare(a._id, b._id)).slice(0, opts.limit).map((d) => ({ ...d }))
        )
    }),
    watch: (_pipeline, opts): ChangeStreamPort => {
      const events = log(ns)
      const after = opts.resumeAfter as { _data?: string } | undefined
      let next = after === undefined ? events.length : events.findIndex((e) => e._id._data === after._data) + 1
      if (after !== undefined && next === 0) throw Object.assign(new Error("resume token not found in the oplog"), { name: "MongoServerError", code: 286 })
      let token: unknown = after
      return {
        tryNext: () => {
          if (next >= events.length) return Promise.resolve(null)
          const event = events[next++]
          token = event._id
          return Promise.resolve(event)
        },
        get resumeToken() {
          return token
        },
        close: () => Promise.resolve()
      }
    }
  })

  const client = (): ClientPort => {
    clients++
    return {
      db: (database) => ({
        collection: (name) => collection(`${database}.${name}`),
        command: () => Promise.resolve({ ok: 1 })
      }),
      close: () => {
        clients--
        return Promise.resolve()
      }
    }
  }

  return {
    connect: (url) =>
      url.includes("unreachable")
        ? Promise.reject(Object.assign(new Error(`connect ECONNREFUSED (${url})`), { name: "MongoServerSelectionError" }))
        : Promise.resolve(client()),
    collections,
    calls,
    writes,
    open: () => clients,
    documents: (ns) => [...coll(ns).values()].sort((a, b) => compare(a._id, b._id)),
    seed: (ns, docs) => {
      for (const d of docs) coll(ns).set(key(d._id), { ...d })
    },
    emit
  }
}

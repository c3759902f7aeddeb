/**
 * The program of a `worker_map` worker thread (this file is the thread's entry point; nothing
 * imports it). At start it imports the user module named in `workerData` and picks the export;
 * then it serves batches: one request is one batch, answered with the output records or with a
 * failure that says which record failed and why.
 *
 * It speaks the wire protocol of Effect's worker runner directly (`WorkerRunner.PlatformMessage`
 * in, `Worker.PlatformMessage` out: `[0]` = ready, `[1, data]` = answer; `[0, request]` =
 * request, `[1]` = close), so the main thread drives it with `effect/workers`' client while the
 * thread itself loads no Effect module: importing Effect's runner modules made a thread take
 * 853 ms instead of 341 ms to become ready here (median of 5, on a loaded 2-core machine).
 *
 * The user's function runs in a plain loop over the batch; an exception it throws is caught at
 * this boundary and sent back as data (the pool turns it into a `WorkerMapError`). A request
 * that sets records aside (`on_error: dead_letter`, record mode) gets each record's failure back
 * with the other records' output instead. A module that
 * cannot be loaded does not stop the worker: every batch is answered with the load failure, so
 * the error reaches the node that sent it.
 */
import type * as Worker from "effect/workers/Worker"
import type * as WorkerRunner from "effect/workers/WorkerRunner"
import { isMainThread, parentPort, workerData } from "node:worker_threads"
import type { RecordFailure, Request, Response, WorkerInit } from "./protocol.ts"

type Loaded =
  | { readonly _tag: "Fn"; readonly f: (input: unknown) => unknown }
  | { readonly _tag: "Broken"; readonly detail: string; readonly stack: string | undefined }

const describe = (e: unknown): { readonly detail: string; readonly stack: string | undefined } =>
  e instanceof Error ? { detail: e.message, stack: e.stack } : { detail: String(e), stack: undefined }

const load = async (init: WorkerInit): Promise<Loaded> => {
  let exports: { readonly [name: string]: unknown }
  try {
    exports = await import(init.url)
  } catch (e) {
    return { _tag: "Broken", ...describe(e) }
  }
  const f = exports[init.export]
  if (typeof f === "function") return { _tag: "Fn", f: f as (input: unknown) => unknown }
  const found = Object.keys(exports).join(", ")
  const detail = f === undefined
    ? `the module has no export '${init.export}' (exports: ${found.length > 0 ? found : "none"})`
    : `export '${init.export}' is a ${typeof f}, not a function`
  return { _tag: "Broken", detail, stack: undefined }
}

const failed = (
  id: number,
  reason: "load" | "user" | "clone",
  detail: string,
  stack: string | undefined,
  index?: number,
  record?: unknown
): Response => ({ _tag: "Failed", id, reason, detail, stack, index, record })

/**
 * Record mode setting records aside: as {@link mapRecords}, but a record `f` throws on is
 * answered in `failed` (index, message, stack) and the loop goes on with the next one.
 */
const mapRecordsSettingAside = (f: (input: unknown) => unknown, request: Request): Response => {
  const { id, records } = request
  const out: Array<unknown> = []
  const failures: Array<RecordFailure> = []
  for (let i = 0; i < records.length; i++) {
    try {
      const r = f(records[i])
      if (r !== null && r !== undefined) out.push(r)
    } catch (e) {
      failures.push({ index: i, ...describe(e) })
    }
  }
  return { _tag: "Ok", id, records: out, failed: failures }
}

/** Record mode: `f(record)` per record, `null`/`undefined` drops it. One loop, one output array. */
const mapRecords = (f: (input: unknown) => unknown, request: Request): Response => {
  const { id, records } = request
  const out: Array<unknown> = []
  let i = 0
  try {
    for (; i < records.length; i++) {
      const r = f(records[i])
      if (r !== null && r !== undefined) out.push(r)
    }
  } catch (e) {
    const { detail, stack } = describe(e)
    return failed(id, "user", detail, stack, i, records[i])
  }
  return { _tag: "Ok", id, records: out }
}

const batchResult = (id: number, result: unknown): Response =>
  Array.isArray(result)
    ? { _tag: "Ok", id, records: result }
    : failed(id, "user", `the batch function returned ${result === null ? "null" : typeof result}, not an array`, undefined)

/** Batch mode: `f(records)` once, which returns the output array (or a promise of it). */
const mapBatch = (f: (input: unknown) => unknown, request: Request): Response | Promise<Response> => {
  let result: unknown
  try {
    result = f(request.records)
  } catch (e) {
    const { detail, stack } = describe(e)
    return failed(request.id, "user", detail, stack)
  }
  if (result instanceof Promise) {
    return result.then((value) => batchResult(request.id, value), (e) => {
      const { detail, stack } = describe(e)
      return failed(request.id, "user", detail, stack)
    })
  }
  return batchResult(request.id, result)
}

const serve = async (): Promise<void> => {
  const port = parentPort
  if (port === null) return
  const init = workerData as WorkerInit
  const loaded = await load(init)
  const send = (message: Worker.PlatformMessage): void => port.postMessage(message)
  const reply = (response: Response): void => {
    try {
      send([1, response])
    } catch (e) {
      // A result that structured clone refuses (a function, a symbol...): report it as data.
      send([1, failed(response.id, "clone", `a result cannot be sent back to the main thread: ${describe(e).detail}`, undefined)])
    }
  }
  port.on("message", (message: WorkerRunner.PlatformMessage<Request>) => {
    if (message[0] === 1) return port.close()
    const request = message[1]
    if (loaded._tag === "Broken") return reply(failed(request.id, "load", loaded.detail, loaded.stack))
    if (init.mode === "record") return reply(request.setAside === true ? mapRecordsSettingAside(loaded.f, request) : mapRecords(loaded.f, request))
    const response = mapBatch(loaded.f, request)
    if (response instanceof Promise) return void response.then(reply)
    reply(response)
  })
  send([0])
}

if (!isMainThread) void serve()

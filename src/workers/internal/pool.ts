/**
 * A pool of worker threads for one `worker_map` node, on Effect's worker client
 * (`effect/workers/Worker` with `@effect/platform-node`'s `NodeWorker` platform).
 *
 * - Threads start lazily, one per concurrently running batch, up to `size`; an idle thread is
 *   reused (last in, first out, so the warmest one). A batch holds one thread from send to answer.
 * - Each thread's Effect worker client runs as a fiber in a child scope of the pool's scope.
 * - A thread that dies (exit, out of memory, uncaught asynchronous error) fails the batch it held
 *   with a `crash` error and leaves the pool; a batch that is interrupted while its thread computes
 *   terminates that thread (its answer is no longer wanted, and it would keep a core busy).
 * - Closing the pool's scope terminates every thread (`worker.terminate()`), on every path: a
 *   thread in the middle of a long batch does not delay shutdown.
 */
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import { Cause, Deferred, Effect, Exit, Scope, Semaphore } from "effect"
import * as Worker from "effect/workers/Worker"
import { WorkerError } from "effect/workers/WorkerError"
import { Worker as Thread } from "node:worker_threads"
import { WorkerMapError, type WorkerMapFailure } from "../WorkerMapError.ts"
import type { Request, Response, WorkerInit } from "./protocol.ts"

/** Options of {@link make}. */
export interface PoolOptions {
  readonly init: WorkerInit
  /** Most threads at once. */
  readonly size: number
  /** The module as configured (for error messages). */
  readonly module: string
  /** Node options of the threads (e.g. `--experimental-strip-types` on a Node that needs it). */
  /** Flags for the threads; `undefined`: they inherit the process's (see execArgv.ts). */
  readonly execArgv: ReadonlyArray<string> | undefined
  /** Old-generation heap limit of each thread, in MB (default: Node's). */
  readonly maxHeapMb: number | undefined
}

/** A running pool. */
/** What {@link Pool.runSettingAside} gives: the output, and the records the function threw on. */
export interface SetAside {
  readonly records: ReadonlyArray<unknown>
  readonly failed: ReadonlyArray<{ readonly index: number; readonly error: WorkerMapError }>
}

export interface Pool {
  /** Processes one batch on one thread. */
  readonly run: (records: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<unknown>, WorkerMapError>
  /**
   * Processes one batch on one thread (record mode), the records the function throws on set
   * aside: the others' output, and each failed record's index with its `WorkerMapError`.
   */
  readonly runSettingAside: (records: ReadonlyArray<unknown>) => Effect.Effect<SetAside, WorkerMapError>
  /** Threads currently alive. */
  readonly threads: () => number
  /** Threads started since the pool was made. */
  readonly started: () => number
}

interface Slot {
  thread: Thread | undefined
  client: Worker.Worker<Response, Request> | undefined
  readonly ready: Deferred.Deferred<void, WorkerMapError>
  pending: Deferred.Deferred<Response, WorkerMapError> | undefined
  /** Id of the request in flight on this thread. */
  request: number
  dead: WorkerMapError | undefined
}

/**
 * The thread's entry file. Keep this exact form (a literal relative path): `scripts/build.ts`
 * bundles the file it names as a worker entry of its own and rewrites the reference to the built
 * file, so it resolves both from the sources and from `dist/`.
 */
const entry = new URL("./runner.ts", import.meta.url)

const messageOf = (u: unknown): string =>
  u !== null && typeof u === "object" && "message" in u && typeof u.message === "string" ? u.message : String(u)

/**
 * A worker error says little by itself ("An error event was emitted"): say what caused it, with
 * Node's error code when there is one (e.g. `ERR_WORKER_OUT_OF_MEMORY`).
 */
const describeWorkerError = (e: unknown): string => {
  const reason = e !== null && typeof e === "object" && "reason" in e ? e.reason : e
  const cause = reason !== null && typeof reason === "object" && "cause" in reason ? reason.cause : undefined
  if (cause === undefined) return messageOf(reason)
  const code = cause !== null && typeof cause === "object" && "code" in cause && typeof cause.code === "string"
    ? ` (${cause.code})`
    : ""
  return `${messageOf(cause)}${code}`
}

const isSendError = (e: unknown): boolean =>
  e instanceof WorkerError && e.reason._tag === "WorkerSendError"

/** Makes a pool whose threads live until `Scope` closes. */
export const make = (options: PoolOptions): Effect.Effect<Pool, never, Scope.Scope> =>
  Effect.gen(function*() {
    const error = (reason: WorkerMapFailure, detail: string) =>
      new WorkerMapError({ module: options.module, export: options.init.export, reason, detail })
    const cloneError = (e: unknown) => error("clone", `the batch cannot be sent to the worker: ${describeWorkerError(e)}`)
    const scope = yield* Effect.scope
    // The client fibers live in a child scope that closes after the threads are terminated
    // (finalizers run in reverse order), so closing never waits for a graceful worker shutdown.
    const clients = yield* Scope.fork(scope)
    const alive = new Set<Thread>()
    let closed = false
    yield* Scope.addFinalizer(
      scope,
      Effect.promise(() => {
        closed = true
        return Promise.all(Array.from(alive, (thread) => thread.terminate()))
      })
    )
    const platform = yield* Effect.provide(Effect.service(Worker.WorkerPlatform), NodeWorker.layerPlatform)
    const permits = yield* Semaphore.make(Math.max(1, options.size))
    const idle: Array<Slot> = []
    let started = 0
    let requests = 0

    const die = (slot: Slot, failure: WorkerMapError): void => {
      if (slot.dead !== undefined) return
      slot.dead = failure
      const i = idle.indexOf(slot)
      if (i >= 0) idle.splice(i, 1)
      Deferred.doneUnsafe(slot.ready, Effect.fail(failure))
      if (slot.pending !== undefined) Deferred.doneUnsafe(slot.pending, Effect.fail(failure))
    }

    const spawn = Effect.gen(function*() {
      if (closed) return yield* error("crash", "the worker pool is closed")
      const slot: Slot = {
        thread: undefined,
        client: undefined,
        ready: Deferred.makeUnsafe(),
        pending: undefined,
        request: 0,
        dead: undefined
      }
      const spawner = (): Thread => {
        const thread = new Thread(entry, {
          workerData: options.init,
          ...(options.execArgv === undefined ? {} : { execArgv: [...options.execArgv] }),
          ...(options.maxHeapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb } })
        })
        slot.thread = thread
        alive.add(thread)
        thread.once("exit", () => alive.delete(thread))
        return thread
      }
      started += 1
      const client = yield* platform.spawn<Response, Request>(started).pipe(
        Effect.provideService(Worker.Spawner, spawner),
        Effect.mapError((e) => error("crash", describeWorkerError(e)))
      )
      slot.client = client
      yield* client.run(
        (response) =>
          Effect.sync(() => {
            if (slot.pending !== undefined && response.id === slot.request) Deferred.doneUnsafe(slot.pending, Effect.succeed(response))
          }),
        { onSpawn: Deferred.succeed(slot.ready, undefined) }
      ).pipe(
        Effect.catchCause((cause) =>
          Effect.sync(() => {
            if (Cause.hasInterruptsOnly(cause)) return die(slot, error("crash", "the worker was stopped"))
            const e = Cause.squash(cause)
            // The first batch of a thread can reach the client while it still buffers (its ready
            // signal races with `onSpawn`); the client fiber then sends it, and a clone failure
            // ends that fiber and the thread. It is still the batch that could not be cloned.
            die(slot, isSendError(e) ? cloneError(e) : error("crash", describeWorkerError(e)))
          })
        ),
        Effect.forkIn(clients)
      )
      return slot
    })

    const toRecords = (response: Response): Effect.Effect<ReadonlyArray<unknown>, WorkerMapError> =>
      response._tag === "Ok"
        ? Effect.succeed(response.records)
        : Effect.fail(
          new WorkerMapError({
            module: options.module,
            export: options.init.export,
            reason: response.reason,
            detail: response.detail,
            index: response.index,
            record: response.index === undefined ? undefined : response.record,
            stack: response.stack
          })
        )

    const toSetAside = (records: ReadonlyArray<unknown>) => (response: Response): Effect.Effect<SetAside, WorkerMapError> =>
      response._tag === "Ok"
        ? Effect.succeed({
          records: response.records,
          failed: (response.failed ?? []).map((f) => ({
            index: f.index,
            error: new WorkerMapError({
              module: options.module,
              export: options.init.export,
              reason: "user",
              detail: f.detail,
              index: f.index,
              record: records[f.index],
              stack: f.stack
            })
          }))
        })
        : Effect.flatMap(toRecords(response), () => Effect.succeed({ records: [], failed: [] }))

    const exchange = (slot: Slot, request: Omit<Request, "id">) =>
      Effect.gen(function*() {
        yield* Deferred.await(slot.ready)
        if (slot.dead !== undefined) return yield* slot.dead
        const pending = Deferred.makeUnsafe<Response, WorkerMapError>()
        slot.pending = pending
        slot.request = ++requests
        yield* slot.client!.send({ ...request, id: slot.request }).pipe(Effect.mapError(cloneError))
        return yield* Deferred.await(pending)
      })

    const release = (slot: Slot, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> =>
      Effect.sync(() => {
        slot.pending = undefined
        if (slot.dead !== undefined) return
        if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) {
          // The thread may still be computing a batch nobody waits for: stop it.
          die(slot, error("crash", "the worker was stopped"))
          if (slot.thread !== undefined) void slot.thread.terminate()
          return
        }
        idle.push(slot)
      })

    const onThread = (request: Omit<Request, "id">): Effect.Effect<Response, WorkerMapError> =>
      Semaphore.withPermit(
        permits,
        Effect.gen(function*() {
          const slot = idle.pop() ?? (yield* spawn)
          return yield* exchange(slot, request).pipe(Effect.onExit((exit) => release(slot, exit)))
        })
      )

    return {
      run: (records) => Effect.flatMap(onThread({ records }), toRecords),
      runSettingAside: (records) => Effect.flatMap(onThread({ records, setAside: true }), toSetAside(records)),
      threads: () => alive.size,
      started: () => started
    }
  })

/**
 * Range threads started ahead: a Node worker takes 25 ms to start on an idle machine and 100–270 ms
 * on a loaded one (Node's own bootstrap, then the thread's module), and a parallel `csv` source
 * used to start its range threads only when it opened — after the CLI had loaded its modules, read
 * the workflow and planned it. {@link warmRanges} starts threads that wait for their range's data
 * (`{ warm: true }` as their `workerData`, the data then comes as their first message, see
 * `csvRange.ts`), while the main thread is still starting; {@link startRangeThread} gives one of
 * them to the source that opens, or starts a new one when none is left.
 *
 * How many to start is a guess made before the plan exists (see `dsl/cli/internal/warm.ts`): a
 * thread not taken waits without keeping the process alive (`unref`), and a source finding none
 * starts its own, so a wrong guess costs a thread's start-up, never a different reading.
 *
 * No Effect here: the CLI loads this before its modules.
 */
import { statSync } from "node:fs"
import { Worker } from "node:worker_threads"
import { workerExecArgv } from "../../../workers/internal/execArgv.ts"
import type { RangeWorkerData } from "./range.ts"

/** The worker thread's program, located like `worker_map`'s (next to it, relative to this module). */
const entry = new URL("../../../workers/internal/csvRange.ts", import.meta.url)

/**
 * The young generation of a range thread, in MB. Its garbage is one batch's records at a time; V8's
 * default lets the young generation grow with the run (tens of MB per thread, RSS growing with
 * the input's size). 16 rather than 8: with 8, scavenges copied the live batch so often that they
 * took 26 % of a thread's time on wide typed rows (12 % with 16; the same peak RSS).
 */
const RANGE_YOUNG_MB = 16

/**
 * Bytes of file each byte range should have at least for `auto` to split: a range thread costs
 * tens of milliseconds to start (a Node worker's own start-up is ~25 ms, then the worker's module,
 * open the file, find the range's start). Measured on 2 cores, shared and loaded (csv → filter →
 * ndjson, typed and untyped narrow rows, whole process; bench scenario 13): 2 ranges lose to 1 up
 * to ~8 MiB, are even to 1.17× faster at 9-10 MiB and 1.15-1.27× faster at 12-13 MiB, so a range of
 * 5 MiB (about 100,000 narrow rows) repays its thread.
 */
const AUTO_RANGE_BYTES = 5 * 1024 * 1024

/**
 * How many ranges `auto` reads the file at `path` in (the `csv` source's `autoParallelism`): one per
 * core, no more than its size repays; 1 when unsure.
 */
export const autoRanges = (path: string, cores: number): number => {
  try {
    const stats = statSync(path)
    return stats.isFile() ? Math.max(1, Math.min(cores, Math.floor(stats.size / AUTO_RANGE_BYTES))) : 1
  } catch {
    // the source's check and open report a missing or unreadable file
    return 1
  }
}

/** The `workerData` of a thread started ahead: its range's data comes as its first message ({@link RangeInit}). */
export interface WarmData {
  readonly warm: true
}

/** The first message to a thread started ahead: its range. */
export interface RangeInit {
  readonly _tag: "Init"
  readonly data: RangeWorkerData
}

/** Threads started ahead, not taken yet; `dead` once one failed or exited while waiting. */
const waiting: Array<{ readonly worker: Worker; dead: boolean }> = []

const spawn = (workerData: RangeWorkerData | WarmData): Worker => {
  const argv = workerExecArgv()
  return new Worker(entry, { workerData, resourceLimits: { maxYoungGenerationSizeMb: RANGE_YOUNG_MB }, ...(argv === undefined ? {} : { execArgv: argv }) })
}

/** Starts `count` range threads ahead, to be taken by the sources that open (see the module's documentation). */
export const warmRanges = (count: number): void => {
  for (let i = 0; i < count; i++) {
    const worker = spawn({ warm: true })
    const entry = { worker, dead: false }
    // (not taken: the thread neither keeps the process alive nor reports anything)
    worker.unref()
    worker.once("error", () => {
      entry.dead = true
    })
    worker.once("exit", () => {
      entry.dead = true
    })
    waiting.push(entry)
  }
}

/** Range threads started ahead and still waiting. */
export const warmWaiting = (): number => waiting.filter((e) => !e.dead).length

/**
 * A range thread reading `data`: one started ahead when one waits (given `data` now), else a new
 * one. The caller attaches its listeners at once (in the same turn: nothing is missed).
 */
export const startRangeThread = (data: RangeWorkerData): Worker => {
  for (let e = waiting.shift(); e !== undefined; e = waiting.shift()) {
    if (e.dead) continue
    e.worker.removeAllListeners()
    e.worker.ref()
    e.worker.postMessage({ _tag: "Init", data } satisfies RangeInit)
    return e.worker
  }
  return spawn(data)
}

/** Ends the threads started ahead that no source took (they would end with the process anyway). */
export const dropWarm = (): Promise<void> =>
  Promise.all(waiting.splice(0).map((e) => e.worker.terminate())).then(() => undefined)

/**
 * The operator behind `dedupe`: one instance per task, a plain loop per batch.
 *
 * Without a window the state holds every key seen. With a window of `w` ms, the state holds for
 * each key the end of the dedupe window of its last emitted occurrence (`t + w`); a record is a
 * duplicate when its event time is before that end. Entries are evicted once the watermark has
 * passed `end + w`: from then on no record that is not late can be a duplicate of it. A
 * min-heap of eviction times (derived, rebuilt after a restore) finds them without a scan.
 *
 * @since 0.1.0
 */
import type { Batch } from "../../Batch.ts"
import type { Operator, OperatorContext, OperatorOutput } from "../../Processor.ts"
import { CLOCK_KEY, type Clock, clockFromState, clockToState, makeClock, tracked } from "./windowState.ts"
import { tooManyKeys } from "./keyLimit.ts"
import { eventTime, keyOf } from "./windows.ts"

/**
 * What the operator needs from a decoded `dedupe` config.
 *
 * @category models
 * @since 0.1.0
 */
export interface DedupePlan {
  readonly key: ReadonlyArray<string>
  /** Dedupe window (ms) with its time field, or `undefined` for all time. */
  readonly window: { readonly size: number; readonly timeField: string } | undefined
  readonly maxOutOfOrderness: number
  readonly late: "drop" | "side_output"
  /** The most keys one instance holds (`max_keys`); {@link UNLIMITED} without. */
  readonly maxKeys: number
}

/**
 * A dedupe operator, with read access to its clock (for tests and metrics).
 *
 * @category models
 * @since 0.1.0
 */
export interface DedupeOperator extends Operator {
  /** Late records seen so far (dropped, or sent to the `late` port), across restores. */
  readonly lateRecords: () => number
  /** The current watermark (epoch ms), or `undefined` before the first record or without a window. */
  readonly watermark: () => number | undefined
}

interface Eviction {
  readonly at: number
  readonly until: number
  readonly key: string
}

/** A binary min-heap of evictions ordered by `at`. */
const push = (heap: Array<Eviction>, e: Eviction): void => {
  let i = heap.length
  heap.push(e)
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (heap[parent].at <= e.at) break
    heap[i] = heap[parent]
    i = parent
  }
  heap[i] = e
}

const pop = (heap: Array<Eviction>): Eviction => {
  const top = heap[0]
  const last = heap.pop()!
  if (heap.length > 0) {
    let i = 0
    const n = heap.length
    while (true) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && heap[r].at < heap[l].at ? r : l
      if (heap[c].at >= last.at) break
      heap[i] = heap[c]
      i = c
    }
    heap[i] = last
  }
  return top
}

/**
 * Makes one operator instance for a plan.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeOperator = (plan: DedupePlan, setAside?: OperatorContext["setAside"]): DedupeOperator => {
  const fields = plan.key
  const window = plan.window
  const ooo = plan.maxOutOfOrderness
  const sideOutput = plan.late === "side_output"
  const maxKeys = plan.maxKeys
  let clock: Clock = makeClock()
  let heap: Array<Eviction> = []
  /** Keys held (the clock's entry not counted). */
  const keys = (): number => state.size() - (state.has(CLOCK_KEY) ? 1 : 0)

  const state = tracked(() => {
    clock = clockFromState(state.get(CLOCK_KEY))
    heap = []
    if (window === undefined) return
    for (const [key, value] of state.entries()) {
      if (key !== CLOCK_KEY) push(heap, { at: (value as number) + window.size, until: value as number, key })
    }
  })

  const onBatchAllTime = (batch: Batch<unknown>): OperatorOutput => {
    const { records, start, end } = batch
    const out: Array<unknown> = []
    for (let i = start; i < end; i++) {
      const record = records[i]
      let key: string
      try {
        key = "k" + keyOf(record, fields)
      } catch (error) {
        if (setAside === undefined) throw error
        setAside(record, error, i)
        continue
      }
      if (state.has(key)) continue
      if (keys() >= maxKeys) throw tooManyKeys("dedupe", maxKeys, record)
      state.set(key, 0)
      out.push(record)
    }
    return { records: out }
  }

  /** Forgets the keys the watermark has passed (see the module comment). */
  const evict = (): void => {
    while (heap.length > 0 && heap[0].at <= clock.watermark) {
      const e = pop(heap)
      if (state.get(e.key) === e.until) state.delete(e.key)
    }
  }

  const onBatchWindowed = (batch: Batch<unknown>): OperatorOutput => {
    const { size, timeField } = window!
    const { records, start, end } = batch
    if (batch.watermark !== undefined && batch.watermark > clock.watermark) clock.watermark = batch.watermark
    const out: Array<unknown> = []
    let late: Array<unknown> | undefined
    for (let i = start; i < end; i++) {
      const record = records[i]
      // what can fail on the record comes before any change to the clock or the keys
      let t: number
      let key: string
      try {
        t = eventTime(record, timeField)
        key = "k" + keyOf(record, fields)
      } catch (error) {
        if (setAside === undefined) throw error
        setAside(record, error, i)
        continue
      }
      if (t > clock.max) {
        clock.max = t
        if (t - ooo > clock.watermark) clock.watermark = t - ooo
      }
      // its own window has closed: an earlier occurrence may already be forgotten
      if (t + size <= clock.watermark) {
        clock.late += 1
        if (sideOutput) (late ??= []).push(record)
        continue
      }
      const until = state.get(key) as number | undefined
      if (until !== undefined && t < until) continue
      if (until === undefined && keys() >= maxKeys) {
        // keys whose time is up may make room (they are otherwise evicted after the batch)
        evict()
        if (keys() >= maxKeys) throw tooManyKeys("dedupe", maxKeys, record)
      }
      state.set(key, t + size)
      push(heap, { at: t + 2 * size, until: t + size, key })
      out.push(record)
    }
    evict()
    state.set(CLOCK_KEY, clockToState(clock))
    return late === undefined ? { records: out } : { records: out, side: { late } }
  }

  return {
    state,
    onBatch: window === undefined ? onBatchAllTime : onBatchWindowed,
    onEnd: () => ({ records: [] }),
    lateRecords: () => clock.late,
    watermark: () => (Number.isFinite(clock.watermark) ? clock.watermark : undefined)
  }
}

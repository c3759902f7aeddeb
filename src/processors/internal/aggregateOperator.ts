/**
 * The operator behind `aggregate`: one instance per task, a plain loop per batch.
 *
 * In-memory indexes (the sorted list of open window starts and the panes of each) are derived
 * from the keyed state and rebuilt when the state is restored; everything that must survive a
 * restart is in the state itself.
 *
 * @since 0.1.0
 */
import type { Batch } from "../../Batch.ts"
import type { Operator, OperatorContext, OperatorOutput } from "../../Processor.ts"
import type { Accumulator } from "./aggregateOps.ts"
import { tooManyKeys } from "./keyLimit.ts"
import { CLOCK_KEY, type Clock, clockFromState, clockToState, makeClock, type Pane, tracked } from "./windowState.ts"
import {
  compareKeys,
  eventTime,
  fieldOf,
  formatTime,
  insertSorted,
  keyOf,
  openStarts,
  type WindowSpec
} from "./windows.ts"

/**
 * What the operator needs from a decoded config.
 *
 * @category models
 * @since 0.1.0
 */
export interface AggregatePlan {
  readonly groupBy: ReadonlyArray<string>
  readonly timeField: string | undefined
  readonly window: WindowSpec
  readonly maxOutOfOrderness: number
  readonly late: "drop" | "side_output"
  readonly windowFormat: "iso" | "epoch_ms"
  readonly names: ReadonlyArray<string>
  readonly accumulators: ReadonlyArray<Accumulator>
  /** The most panes one instance holds (`max_keys`); `Infinity` without. */
  readonly maxKeys: number
}

/**
 * An aggregate operator, with read access to its clock (for tests and metrics).
 *
 * @category models
 * @since 0.1.0
 */
export interface AggregateOperator extends Operator {
  /** Late records seen so far (dropped, or sent to the `late` port), across restores. */
  readonly lateRecords: () => number
  /** The current watermark (epoch ms), or `undefined` before the first record. */
  readonly watermark: () => number | undefined
}

const byGroupKey = (a: Pane, b: Pane): number => compareKeys(a.gk, b.gk)

const paneKey = (start: number | null, gk: string): string => (start === null ? "g" + gk : "p" + start + "|" + gk)

/** `mark` of a pane that has fired (its state entry is deleted and must not be set again). */
const FIRED = -2

/**
 * Makes one operator instance for a plan.
 *
 * **Gotchas**: panes are found through in-memory maps (window start → group key → pane), not
 * through the keyed state, and each changed pane is written back to the state once per batch:
 * a state key string per record would cost more than the aggregation itself.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeOperator = (plan: AggregatePlan, setAside?: OperatorContext["setAside"]): AggregateOperator => {
  const { accumulators, groupBy, names, timeField, windowFormat } = plan
  const nAcc = accumulators.length
  const nGroup = groupBy.length
  const fixed = plan.window._tag === "Fixed" ? plan.window : undefined
  const size = fixed?.size ?? 0
  const slide = fixed?.slide ?? 0
  const ooo = plan.maxOutOfOrderness
  const sideOutput = plan.late === "side_output"
  const maxKeys = plan.maxKeys

  let clock: Clock = makeClock()
  /** Panes held (open windows × groups, or groups of a global aggregate). */
  let live = 0
  // open window starts, ascending, and the panes of each by group key; panes of a global aggregate
  let starts: Array<number> = []
  let byStart = new Map<number, Map<string, Pane>>()
  let global = new Map<string, Pane>()
  // panes changed in the current batch (written to the state at its end)
  const touched: Array<Pane> = []
  let batchNo = 0
  const buffer: Array<number> = []

  const index = (pane: Pane): void => {
    if (pane.start === null) {
      global.set(pane.gk, pane)
      return
    }
    const panes = byStart.get(pane.start)
    if (panes === undefined) {
      byStart.set(pane.start, new Map([[pane.gk, pane]]))
      insertSorted(starts, pane.start)
    } else {
      panes.set(pane.gk, pane)
    }
  }

  const state = tracked(() => {
    clock = clockFromState(state.get(CLOCK_KEY))
    starts = []
    byStart = new Map()
    global = new Map()
    touched.length = 0
    live = 0
    for (const [key, value] of state.entries()) {
      if (key === CLOCK_KEY) continue
      const pane = value as Pane
      pane.key = key
      pane.mark = -1
      index(pane)
      live += 1
    }
  })

  const output = (pane: Pane, windowStart: unknown, windowEnd: unknown): unknown => {
    const o: { [field: string]: unknown } = {}
    for (let i = 0; i < nGroup; i++) o[groupBy[i]] = pane.group[i]
    if (pane.start !== null) {
      o.window_start = windowStart
      o.window_end = windowEnd
    }
    for (let k = 0; k < nAcc; k++) o[names[k]] = accumulators[k].result(pane.acc[k])
    return o
  }

  const newPane = (start: number | null, gk: string, record: unknown): Pane => {
    if (live >= maxKeys) throw tooManyKeys("aggregate", maxKeys, record)
    live += 1
    // packed arrays (push, not `new Array(n)`): faster element access in the hot loop
    const group: Array<unknown> = []
    for (let i = 0; i < nGroup; i++) group.push(fieldOf(record, groupBy[i]) ?? null)
    const acc: Array<unknown> = []
    for (let k = 0; k < nAcc; k++) acc.push(accumulators[k].init())
    return { _tag: "Pane", start, gk, group, acc, key: paneKey(start, gk), mark: -1 }
  }

  const add = (pane: Pane, record: unknown, t: number): void => {
    const acc = pane.acc
    for (let k = 0; k < nAcc; k++) acc[k] = accumulators[k].add(acc[k], record, t)
    if (pane.mark !== batchNo) {
      pane.mark = batchNo
      touched.push(pane)
    }
  }

  // Setting records aside (on_error: dead_letter): `vet` runs everything that can throw on a
  // record before the state changes — its event time, its group key, the built-in ops' checks,
  // and user reducers on copies (their results wait in `staged`, pane j's at [j * nAcc + k]).
  const checks = accumulators.flatMap((a) => (a.check === undefined ? [] : [a.check]))
  const hasStaged = accumulators.some((a) => a.staged === true)
  const staged: Array<unknown> = []
  const stage = (pane: Pane | undefined, j: number, record: unknown, t: number): void => {
    for (let k = 0; k < nAcc; k++) {
      const a = accumulators[k]
      if (a.staged === true) staged[j * nAcc + k] = a.add(pane === undefined ? a.init() : pane.acc[k], record, t)
    }
  }
  /**
   * Whether the record can be taken; if not, it is set aside (see `setAside`). A late record is
   * taken (the loop drops it or sends it to `late`): as without dead letters, nothing is added
   * from it, so nothing about it can fail.
   */
  const vet = (record: unknown, index: number): boolean => {
    try {
      const t = timeField === undefined ? 0 : eventTime(record, timeField)
      // the windows the record will go to, under the watermark it will make (late: none)
      const n = fixed === undefined
        ? 1
        : openStarts(size, slide, t, t > clock.max && t - ooo > clock.watermark ? t - ooo : clock.watermark, buffer)
      if (n === 0) return true
      const gk = nGroup === 0 ? "" : keyOf(record, groupBy)
      for (let c = 0; c < checks.length; c++) checks[c](record)
      if (!hasStaged) return true
      if (fixed === undefined) stage(global.get(gk), 0, record, t)
      else for (let j = 0; j < n; j++) stage(byStart.get(buffer[j])?.get(gk), j, record, t)
      return true
    } catch (error) {
      setAside!(record, error, index)
      return false
    }
  }
  /** {@link add} with the reducers' results staged by {@link vet} for the record's j-th pane. */
  const addVetted = (pane: Pane, record: unknown, t: number, j: number): void => {
    const acc = pane.acc
    for (let k = 0; k < nAcc; k++) {
      const a = accumulators[k]
      acc[k] = a.staged === true ? staged[j * nAcc + k] : a.add(acc[k], record, t)
    }
    if (pane.mark !== batchNo) {
      pane.mark = batchNo
      touched.push(pane)
    }
  }
  const vetting = setAside !== undefined

  /** Writes the panes changed in this batch (and not fired) to the state. */
  const flush = (): void => {
    for (let i = 0; i < touched.length; i++) {
      const pane = touched[i]
      if (pane.mark !== FIRED) state.set(pane.key, pane)
    }
    touched.length = 0
  }

  const emit = (panes: Array<Pane>, windowStart: unknown, windowEnd: unknown, out: Array<unknown>): void => {
    panes.sort(byGroupKey)
    for (const pane of panes) {
      out.push(output(pane, windowStart, windowEnd))
      pane.mark = FIRED
      state.delete(pane.key)
      live -= 1
    }
  }

  /** Fires every window whose end is at or before `watermark`, in start then group-key order. */
  const fire = (watermark: number, out: Array<unknown>): void => {
    while (starts.length > 0 && starts[0] + size <= watermark) {
      const start = starts.shift()!
      const panes = byStart.get(start)!
      byStart.delete(start)
      emit([...panes.values()], formatTime(windowFormat, start), formatTime(windowFormat, start + size), out)
    }
  }

  const onBatchFixed = (batch: Batch<unknown>): OperatorOutput => {
    const { records, start, end } = batch
    const tf = timeField!
    batchNo += 1
    if (batch.watermark !== undefined && batch.watermark > clock.watermark) clock.watermark = batch.watermark
    const out: Array<unknown> = []
    let late: Array<unknown> | undefined
    for (let i = start; i < end; i++) {
      const record = records[i]
      if (vetting && !vet(record, i)) continue
      const t = eventTime(record, tf)
      if (t > clock.max) {
        clock.max = t
        if (t - ooo > clock.watermark) clock.watermark = t - ooo
      }
      const n = openStarts(size, slide, t, clock.watermark, buffer)
      if (n === 0) {
        clock.late += 1
        if (sideOutput) (late ??= []).push(record)
        continue
      }
      const gk = nGroup === 0 ? "" : keyOf(record, groupBy)
      for (let j = 0; j < n; j++) {
        const s = buffer[j]
        let panes = byStart.get(s)
        if (panes === undefined) {
          panes = new Map()
          byStart.set(s, panes)
          insertSorted(starts, s)
        }
        let pane = panes.get(gk)
        if (pane === undefined) {
          pane = newPane(s, gk, record)
          panes.set(gk, pane)
        }
        if (vetting) addVetted(pane, record, t, j)
        else add(pane, record, t)
      }
    }
    fire(clock.watermark, out)
    flush()
    state.set(CLOCK_KEY, clockToState(clock))
    return late === undefined ? { records: out } : { records: out, side: { late } }
  }

  const onBatchGlobal = (batch: Batch<unknown>): OperatorOutput => {
    const { records, start, end } = batch
    batchNo += 1
    for (let i = start; i < end; i++) {
      const record = records[i]
      if (vetting && !vet(record, i)) continue
      const t = timeField === undefined ? 0 : eventTime(record, timeField)
      const gk = nGroup === 0 ? "" : keyOf(record, groupBy)
      let pane = global.get(gk)
      if (pane === undefined) {
        pane = newPane(null, gk, record)
        global.set(gk, pane)
      }
      if (vetting) addVetted(pane, record, t, 0)
      else add(pane, record, t)
    }
    flush()
    return { records: [] }
  }

  const onEnd = (): OperatorOutput => {
    const out: Array<unknown> = []
    if (fixed !== undefined) {
      fire(Infinity, out)
    } else {
      emit([...global.values()], undefined, undefined, out)
      global = new Map()
    }
    return { records: out }
  }

  return {
    state,
    onBatch: fixed !== undefined ? onBatchFixed : onBatchGlobal,
    onEnd,
    lateRecords: () => clock.late,
    watermark: () => (Number.isFinite(clock.watermark) ? clock.watermark : undefined)
  }
}

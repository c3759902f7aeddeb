/**
 * Stateful nodes' fingerprints: what each checkpoint keeps about every stateful node (type,
 * state version, what its state depends on, parallelism, key groups), and the pre-flight check
 * that refuses a restore the state cannot follow — a stateful node renamed, removed, added or
 * changed (group fields, window, aggregates, ...), its parallelism changed when its state has no
 * key groups, or `execution.key_groups` changed — naming what changed and the way out
 * (`--drop-state <node>` to start that node's state over, `--from-scratch` for all).
 *
 * Stateless processor nodes (`filter`, `map`, ...) are kept too ({@link nodeDefinitions}): a
 * change to one between a stop and a resume is legitimate and not refused, but it is told
 * ({@link definitionChanges}: the records written before the checkpoint used the old definition).
 */
import { Effect } from "effect"
import { type DefinitionChange, type NodeDefinition, type NodeState, type Restored, RestoreError } from "../Checkpoint.ts"
import { byKeyGroup, type Plan, type PlannedTask } from "./planner.ts"

type StatefulTask = PlannedTask & { readonly _tag: "Stateful" }

/** Plain JSON of a value: functions (DSL reducers, user steps) stand as `"<function>"`. */
const plain = (value: unknown): unknown => {
  if (typeof value === "function") return "<function>"
  if (value === undefined) return null
  if (value === null || typeof value !== "object") return typeof value === "bigint" ? String(value) : value
  if (Array.isArray(value)) return value.map(plain)
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, plain(v)]))
}

const statefulTasks = (plan: Plan): ReadonlyArray<StatefulTask> =>
  plan.tasks.filter((t): t is StatefulTask => t._tag === "Stateful")

/** What a checkpoint of this plan keeps about each stateful node. */
export const nodeStates = (plan: Plan): ReadonlyArray<NodeState> =>
  statefulTasks(plan).map((task) => {
    const node = plan.workflow.nodes.find((n) => n.node.id === task.id)!.node
    return {
      node: task.id,
      type: node.type,
      version: task.processor.stateVersion,
      fingerprint: plain(task.processor.fingerprint ?? node.config ?? null),
      parallelism: task.parallelism,
      keyGroups: plan.keyGroups,
      byKeyGroup: byKeyGroup(task)
    }
  })

/** What a checkpoint of this plan keeps about each stateless processor node: its type and config. */
export const nodeDefinitions = (plan: Plan): ReadonlyArray<NodeDefinition> =>
  plan.workflow.nodes.flatMap((n) =>
    n.kind === "processor" && n.processor._tag !== "Stateful"
      ? [{ node: n.node.id, type: n.node.type, fingerprint: plain(n.node.config ?? null) }]
      : []
  )

/**
 * The stateless processor nodes of `plan` whose definition is not the one `restored` recorded
 * (none when the checkpoint recorded no definitions: written by an older version). A node the
 * checkpoint does not know is `added` unless it was stateful then (its state is checked apart).
 */
export const definitionChanges = (plan: Plan, restored: Restored | undefined): ReadonlyArray<DefinitionChange> => {
  if (restored?.definitions === undefined) return []
  const before = new Map(restored.definitions.map((d) => [d.node, d]))
  const wasStateful = new Set((restored.nodes ?? []).map((n) => n.node))
  const out: Array<DefinitionChange> = []
  for (const now of nodeDefinitions(plan)) {
    const old = before.get(now.node)
    if (old === undefined) {
      if (!wasStateful.has(now.node)) out.push({ node: now.node, changes: ["added"] })
      continue
    }
    if (old.type !== now.type) {
      out.push({ node: now.node, changes: [`type: '${old.type}' → '${now.type}'`] })
      continue
    }
    const changed = changes(old.fingerprint, now.fingerprint)
    if (changed.length > 0) out.push({ node: now.node, changes: changed })
  }
  const kept = new Set(plan.workflow.nodes.map((n) => n.node.id))
  for (const old of restored.definitions) if (!kept.has(old.node)) out.push({ node: old.node, changes: ["removed"] })
  return out
}

/**
 * The notice of {@link definitionChanges}: each node named with what changed, and what that means
 * for the records already written.
 */
export const definitionNotice = (checkpoint: number, changed: ReadonlyArray<DefinitionChange>): string =>
  changed.map((c) => `node '${c.node}' changed since checkpoint ${checkpoint} (${c.changes.join("; ")})`).join("; ") +
  `: records written before checkpoint ${checkpoint} used the old definition, the records after it use the new one ` +
  `(--from-scratch writes every record with the new one)`

const json = (value: unknown): string => JSON.stringify(value)

/** The fields of two fingerprints that differ, as `field: before → now`. */
const changes = (before: unknown, now: unknown): ReadonlyArray<string> => {
  const isObject = (v: unknown): v is { readonly [k: string]: unknown } => typeof v === "object" && v !== null && !Array.isArray(v)
  if (!isObject(before) || !isObject(now)) return json(before) === json(now) ? [] : [`${json(before)} → ${json(now)}`]
  const keys = [...new Set([...Object.keys(before), ...Object.keys(now)])]
  return keys.filter((k) => json(before[k]) !== json(now[k])).map((k) => `${k}: ${json(before[k] ?? null)} → ${json(now[k] ?? null)}`)
}

const DROP = (node: string) =>
  `run with --drop-state ${node} to start this node's state over while everything else resumes, or with --from-scratch to start every node over`

/**
 * Checks that the state in `restored` fits the plan's stateful nodes; returns the state to
 * restore without the nodes in `drop` (their state starts over).
 */
export const checkNodes = (
  plan: Plan,
  restored: Restored | undefined,
  drop: ReadonlySet<string>
): Effect.Effect<Restored | undefined, RestoreError> =>
  Effect.gen(function*() {
    if (restored === undefined) return undefined
    const refuse = (node: string, reason: string, remedy: string = DROP(node)) =>
      new RestoreError({ node, checkpoint: restored.id, reason, remedy })
    const tasks = statefulTasks(plan)
    const now = new Map(nodeStates(plan).map((s) => [s.node, s]))
    const saved = new Map((restored.nodes ?? []).map((s) => [s.node, s]))
    // old instances per node with state in the checkpoint
    const instances = new Map<string, number>()
    for (const key of restored.operators.keys()) {
      const node = key.slice(0, key.lastIndexOf("/"))
      instances.set(node, (instances.get(node) ?? 0) + 1)
    }
    for (const node of new Set([...instances.keys(), ...saved.keys()])) {
      if (now.has(node) || drop.has(node)) continue
      const kept = plan.workflow.nodes.some((n) => n.node.id === node)
      return yield* refuse(
        node,
        kept
          ? "the checkpoint holds state of this node, which is no longer a stateful processor"
          : "the checkpoint holds state of this stateful node, which the workflow no longer has (renamed or removed?)"
      )
    }
    for (const task of tasks) {
      if (drop.has(task.id)) continue
      const current = now.get(task.id)!
      const before = saved.get(task.id)
      const count = instances.get(task.id)
      if (count === undefined && before === undefined) {
        return yield* refuse(
          task.id,
          "the checkpoint holds no state of this stateful node (added, or renamed, since?): started empty it would leave out every record read before"
        )
      }
      if (before !== undefined) {
        if (before.type !== current.type) return yield* refuse(task.id, `its type changed from '${before.type}' to '${current.type}'`)
        const changed = changes(before.fingerprint, current.fingerprint)
        if (changed.length > 0) {
          return yield* refuse(task.id, `its definition changed in a way its saved state cannot follow (${changed.join("; ")})`)
        }
        // one instance before and after holds every key whatever the groups; otherwise keys would move
        if (before.keyGroups !== current.keyGroups && (before.parallelism > 1 || current.parallelism > 1)) {
          return yield* refuse(
            task.id,
            `execution.key_groups changed from ${before.keyGroups} to ${current.keyGroups}; the saved state is split by ${before.keyGroups} key groups`,
            `set execution.key_groups back to ${before.keyGroups}, or run with --from-scratch`
          )
        }
      }
      const old = before?.parallelism ?? count ?? current.parallelism
      if (old !== current.parallelism && !((before?.byKeyGroup ?? false) && current.byKeyGroup)) {
        return yield* refuse(
          task.id,
          `its parallelism changed from ${old} to ${current.parallelism}, and its saved state has no key groups to redistribute (${
            current.byKeyGroup ? "it was written by an older version" : "its operator does not tell the key of its entries, or key_by routes by another key"
          })`,
          `set its parallelism back to ${old}, or ${DROP(task.id)}`
        )
      }
    }
    if (drop.size === 0) return restored
    const operators = new Map([...restored.operators].filter(([key]) => !drop.has(key.slice(0, key.lastIndexOf("/")))))
    return { ...restored, operators, nodes: (restored.nodes ?? []).filter((n) => !drop.has(n.node)) }
  })

/**
 * Channel wiring: one bounded channel per instance of every task that reads a channel (tasks
 * chained into their source's fiber have none), and for every producer task the consumers of
 * each of its ports. A keyed consumer with several instances gets records routed by key; others
 * get whole batches, each to the least busy instance.
 */
import { Effect } from "effect"
import { type Channel, type Inbound, makeChannel, sizeOf } from "../channel.ts"
import type { Plan, PlannedTask } from "../planner.ts"
import type { Outputs } from "./downstream.ts"

/** The channels of a plan. */
export interface Wiring {
  /** The channels of a task (one per instance; empty for a source or a chained task). */
  readonly channelsOf: (task: PlannedTask) => ReadonlyArray<Channel>
  /** The consumers of each output port of a task. */
  readonly outputsOf: (task: PlannedTask) => Outputs
  /** Fill of each task's channels: task id → [batches queued, capacity]. */
  readonly queueFill: () => ReadonlyMap<string, readonly [number, number]>
  /** Fill of every channel: task id → [batches queued, capacity] per consumer instance. */
  readonly channelFill: () => ReadonlyMap<string, ReadonlyArray<readonly [number, number]>>
}

/** Instances of a task: an ordered task reading a channel runs as one fiber (it orders itself). */
export const instancesOf = (task: PlannedTask): number => (task.ordered && task.inputs.length > 0 ? 1 : task.parallelism)

/**
 * The producer instances feeding each channel of `task`: every instance of every task it reads,
 * counted once per task however many of that task's ports it reads (a fused chain whose nodes
 * all send their dead letters to one destination, a stateful task's main and `late` outputs).
 * A producer instance sends one barrier `n` and one End to each consumer, whatever the ports
 * (see `everyOutput`), so counting a task once per port would leave the consumer waiting for
 * barriers and ends that never come.
 */
export const producerInstances = (task: PlannedTask, byId: ReadonlyMap<string, PlannedTask>): number =>
  [...new Set(task.inputs.map((input) => input.task))].reduce((sum, id) => sum + instancesOf(byId.get(id)!), 0)

/** Builds the channels of a plan. */
export const wire = (plan: Plan): Effect.Effect<Wiring> =>
  Effect.gen(function*() {
    const capacity = plan.workflow.queueCapacity
    const byId = new Map(plan.tasks.map((t) => [t.id, t]))
    const inbound = new Map<string, Inbound>()
    // task id → port → consumers
    const outputs = new Map<string, Map<string, Array<Inbound>>>()
    for (const task of plan.tasks) {
      if (task.inputs.length === 0 || task.runsIn !== undefined) continue
      const producers = producerInstances(task, byId)
      const channels: Array<Channel> = []
      for (let i = 0; i < instancesOf(task); i++) channels.push(yield* makeChannel(capacity, producers))
      const target: Inbound = { channels, key: channels.length > 1 ? task.key : undefined, keyGroups: plan.keyGroups, next: 0 }
      inbound.set(task.id, target)
      for (const input of task.inputs) {
        const ports = outputs.get(input.task) ?? new Map<string, Array<Inbound>>()
        outputs.set(input.task, ports)
        ports.set(input.port, [...(ports.get(input.port) ?? []), target])
      }
    }
    return {
      channelsOf: (task) => inbound.get(task.id)?.channels ?? [],
      outputsOf: (task) => outputs.get(task.id) ?? new Map(),
      queueFill: () => {
        const fill = new Map<string, readonly [number, number]>()
        for (const [id, q] of inbound) {
          let size = 0
          for (const channel of q.channels) size += sizeOf(channel)
          fill.set(id, [size, capacity * q.channels.length])
        }
        return fill
      },
      channelFill: () => {
        const fill = new Map<string, ReadonlyArray<readonly [number, number]>>()
        for (const [id, q] of inbound) fill.set(id, q.channels.map((channel) => [sizeOf(channel), capacity] as const))
        return fill
      }
    }
  })

/**
 * The cluster entity of a workflow part: `DataflarePart`, keyed by `<workflow>/<part>` (or
 * `<workflow>/<part>~k`, the id submit picks to place the part on a runner: see balance.ts), with
 * one persisted request, `Run`. Persisted: the request is stored in the cluster's message storage
 * until its part ends, so when the runner holding the part dies, the runner its shard moves to
 * receives it again and the part resumes there from its last checkpoint.
 */
import { Schema } from "effect"
import * as ClusterSchema from "effect/cluster/ClusterSchema"
import * as Entity from "effect/cluster/Entity"
import * as Rpc from "effect/rpc/Rpc"
import { PartFailed } from "./errors.ts"

/** What a part reports when it ends. */
export const PartResult = Schema.Struct({ recordsIn: Schema.Number, recordsOut: Schema.Number })

/**
 * Runs part `part` of `parts` of a workflow (`graph`: the checked workflow as JSON, credentials as
 * `${env:NAME}` references). `submission` counts the workflow's submissions (0 the first; a
 * stopped workflow submitted again resumes with the next): it is part of the request's primary
 * key, since the message storage answers a request whose key it has seen with its stored reply.
 */
export const Run = Rpc.make("Run", {
  payload: { workflow: Schema.String, part: Schema.Number, parts: Schema.Number, submission: Schema.Number, graph: Schema.String },
  success: PartResult,
  error: PartFailed,
  primaryKey: (p) => `${p.workflow}/${p.part}/${p.submission}`
})

/**
 * The entity of a workflow part. `InterruptOnTermination`: when its shard leaves the runner (a
 * runner stopping gracefully, a rebalance), the running part is interrupted at once — it resumes
 * from its last checkpoint on the next holder, without the interruption stored as its reply —
 * instead of running on for effect/cluster's termination grace period (15 s) and being cut then.
 */
export const Part = Entity.make("DataflarePart", [Run])
  .annotateRpcs(ClusterSchema.Persisted, true)
  .annotateRpcs(ClusterSchema.InterruptOnTermination, true)

/** The plain entity id of a part (before placement, see balance.ts). */
export const partId = (workflow: string, part: number): string => `${workflow}/${part}`

/**
 * The cluster's errors: what a user can cause (a workflow the first slice cannot distribute, a
 * workflow name already submitted, an unreachable database) is a tagged error with its context.
 */
import { Schema } from "effect"

/** A cluster operation failed: `operation` says which, `workflow` which workflow when one is involved. */
export class ClusterError extends Schema.TaggedError<ClusterError>()("ClusterError", {
  operation: Schema.String,
  workflow: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/** A part of a workflow failed on its runner (stored as the part's reply). */
export class PartFailed extends Schema.TaggedError<PartFailed>()("PartFailed", {
  workflow: Schema.String,
  part: Schema.Number,
  message: Schema.String
}) {}

/**
 * What every workflow command shares: the `<workflow.yaml>` argument and loading the workflow.
 */
import { Effect } from "effect"
import { Argument } from "effect/cli"
import type { DefinitionError } from "../../../src/Errors.ts"
import type { WorkflowGraph } from "../../../src/WorkflowGraph.ts"
import { engine } from "./engine.ts"

/** The positional `<workflow>` argument: the path of a workflow YAML file. */
export const workflowArgument = Argument.String("workflow").pipe(
  Argument.withDescription("Path of the workflow YAML file (relative paths inside it resolve against the current directory)")
)

/** Loads a workflow file (environment from `process.env`, or `env`). */
export const load = (file: string, env?: { readonly [name: string]: string | undefined }): Effect.Effect<WorkflowGraph, DefinitionError> =>
  Effect.flatMap(engine, (modules) => modules.Yaml.load(file, env !== undefined ? { env } : undefined))

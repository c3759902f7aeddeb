/**
 * The services of the application that connectors need (a definition's `R`, e.g. a client the
 * app already has), across the untyped registry.
 *
 * The registry holds definitions of every `R` as one type, so it cannot keep `R` in the types of
 * the prepared connectors. Instead:
 * - the DSL keeps `R` in the workflow's type (a typed spec `Spec.source<A, E, R>`), so
 *   `Runtime.run` / `Pipeline.run` require it of their caller;
 * - every task fiber runs with the context of the fiber that runs the workflow, so the services
 *   the caller provided are there when a connector opens ({@link withRunServices});
 * - for graphs without those types (YAML), {@link missingServices} lists, before any connector
 *   opens, the services a definition declares (`services: [Key, ...]`) that the run's context
 *   lacks, so the run stops with a definition error instead of a connector failing mid-run.
 */
import { type Context, Effect } from "effect"
import { DefinitionError, type DefinitionIssue } from "../Errors.ts"
import * as WorkflowGraph from "../WorkflowGraph.ts"
import type { PreparedWorkflow } from "./prepare.ts"

/** What a prepared connector declares it needs. */
export interface NeedsServices {
  readonly services?: ReadonlyArray<Context.Key<unknown, unknown>> | undefined
}

/**
 * A connector's Effect run with the services of the fiber that runs it (the task's fiber, with
 * the context of the workflow's caller), requiring only `Keep` (the `Scope` of `open`) in its
 * type. Sound because the run first checks, with {@link missingServices}, that every declared
 * service is in that context.
 */
export const withRunServices = <Keep = never>() => <A, E>(effect: Effect.Effect<A, E, unknown>): Effect.Effect<A, E, Keep> =>
  Effect.contextWith((context: Context.Context<Keep>) =>
    // the context has every service the connector declares (checked before the run opened anything)
    Effect.provideContext(effect, context as Context.Context<unknown>)
  )

/** The keys of the declared services the current context does not have. */
export const missingServices = (connector: NeedsServices): Effect.Effect<ReadonlyArray<string>> =>
  Effect.contextWith((context: Context.Context<never>) =>
    Effect.succeed((connector.services ?? []).map((key) => key.key).filter((key) => !context.mapUnsafe.has(key)))
  )

/**
 * Fails with one {@link DefinitionError} naming every source and sink whose declared services
 * the current context does not have (called by the run before any connector opens).
 */
export const checkServices = (workflow: PreparedWorkflow): Effect.Effect<void, DefinitionError> =>
  Effect.gen(function*() {
    const issues: Array<DefinitionIssue> = []
    for (const n of workflow.nodes) {
      const connector = n.kind === "source" ? n.source : n.kind === "sink" ? n.sink : undefined
      if (connector === undefined) continue
      for (const key of yield* missingServices(connector)) {
        const location = workflow.graph.sourceMap?.locate(n.node.id, [])
        issues.push({
          path: WorkflowGraph.describePath(workflow.graph, n.node.id, []),
          message: `the ${n.kind} type '${n.node.type}' needs the service '${key}': provide it (e.g. a Layer) where the workflow runs`,
          ...(location !== undefined ? { location } : {})
        })
      }
    }
    if (issues.length > 0) return yield* new DefinitionError({ issues })
  })

/**
 * The modules the commands load lazily (see `engine.ts`). Not the PostgreSQL connectors or state
 * backend: they load when a workflow uses them (`lazyConnectorDefinitions`, {@link postgresBackend}); nor the
 * stateful processors and `worker_map` (`lazyProcessorDefinitions`); nor observability (`node:http` alone costs
 * start-up time), loaded with `--http` or OTLP settings ({@link observability}).
 */
export * as FileBackend from "../../../src/backends/FileBackend.ts"
export { lazyConnectorDefinitions } from "../../../src/connectors/lazy.ts"
export { lazyProcessorDefinitions } from "../../../src/processors/lazy.ts"
export * as Runtime from "../../../src/Runtime.ts"
export * as Yaml from "../../yaml/Yaml.ts"
export { typeSchemas } from "../../yaml/internal/jsonSchema.ts"

/** The PostgreSQL state backend, loaded when a run or a command uses it. */
export const postgresBackend = () => import("../../../src/backends/PostgresBackend.ts")

/** The plan's text, Mermaid and DOT renderings (`dataflare plan` only). */
export const planFormat = () => import("../../../src/PlanFormat.ts")

/** Metrics, health checks, the dashboard and OTLP tracing (an HTTP server and client), loaded when a run asks for them. */
export const observability = () => import("../../../src/Observability.ts")

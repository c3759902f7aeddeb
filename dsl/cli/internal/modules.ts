/** The modules the commands load lazily (see `engine.ts`). */
export * as FileBackend from "../../../src/backends/FileBackend.ts"
export * as PostgresBackend from "../../../src/backends/PostgresBackend.ts"
export * as Builtins from "../../../src/Builtins.ts"
export * as Runtime from "../../../src/Runtime.ts"
export * as Yaml from "../../yaml/Yaml.ts"
export * as PlanFormat from "../../../src/PlanFormat.ts"
export * as Observability from "../../../src/Observability.ts"
export { typeSchemas } from "../../yaml/internal/jsonSchema.ts"

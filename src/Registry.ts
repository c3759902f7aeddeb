/**
 * The registry: the one way connectors and processors are found by their `type`.
 *
 * Built-in and third-party definitions register the same way, through a Layer
 * (`Registry.layer([...])`), never by import side effects. The registry checks each definition's
 * declared API version and refuses one this build cannot run. The runtime and the YAML loader
 * resolve every node's `type` here, and decode the node's config with the type's Schema
 * ({@link prepare}), so a config error names the node and the key.
 *
 * @example
 * ```ts
 * import { Builtins, Registry } from "dataflare"
 * const MyConnectors = Registry.layer([...Builtins.definitions, MySource, MySink])
 * ```
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema, type Scope } from "effect"
import {
  SUPPORTED_API_VERSIONS,
  type OpenContext,
  type Resources,
  type SinkCapabilities,
  type SinkDefinition,
  type SinkRestoreContext,
  type SinkWriter,
  type SourceCapabilities,
  type SourceDefinition,
  type SourceReader,
  type SourceRestoreContext
} from "./Connector.ts"
import type { Position } from "./Batch.ts"
import type { RestoreError } from "./Checkpoint.ts"
import type { ConnectorError } from "./Errors.ts"
import { decodeAll, type PathIssue } from "./internal/decode.ts"
import { withRunServices } from "./internal/services.ts"
import type { MakeContext, Processor, ProcessorDefinition } from "./Processor.ts"

/**
 * A source whose config has been decoded: ready to check and open.
 *
 * @category models
 * @since 0.1.0
 */
export interface PreparedSource {
  readonly _tag: "PreparedSource"
  readonly type: string
  readonly capabilities: SourceCapabilities
  /** What it reads and writes outside the workflow (absent: nothing declared, e.g. an override). */
  readonly resources?: Resources
  readonly check: Effect.Effect<void, ConnectorError>
  readonly open: (context: OpenContext) => Effect.Effect<SourceReader<unknown>, ConnectorError, Scope.Scope>
  /** The definition's `identify` with the config applied (see `SourceDefinition.identify`). */
  readonly identify?: ((position: Position) => Effect.Effect<unknown, ConnectorError>) | undefined
  /** The definition's `checkRestore` with the config applied (see `SourceDefinition.checkRestore`). */
  readonly checkRestore?: ((context: SourceRestoreContext) => Effect.Effect<void, RestoreError | ConnectorError>) | undefined
  /** The Schema of the source's positions, for its config (see `SourceDefinition.position`). */
  readonly position?: Schema.Decoder<unknown> | undefined
  /** The records' field names, when the config says exactly what they are (see `SourceDefinition.fields`). */
  readonly fields?: ReadonlyArray<string> | undefined
  /** The services of the application `open` and `check` need (checked before a run opens anything). */
  readonly services?: ReadonlyArray<Context.Key<unknown, unknown>> | undefined
}

/**
 * A sink whose config has been decoded: ready to check and open.
 *
 * @category models
 * @since 0.1.0
 */
export interface PreparedSink {
  readonly _tag: "PreparedSink"
  readonly type: string
  readonly capabilities: SinkCapabilities
  /** What it writes (and reads) outside the workflow (absent: nothing declared, e.g. an override). */
  readonly resources?: Resources
  readonly check: Effect.Effect<void, ConnectorError>
  readonly open: (context: OpenContext) => Effect.Effect<SinkWriter<unknown>, ConnectorError, Scope.Scope>
  /** The definition's `checkRestore` with the config applied (see `SinkDefinition.checkRestore`). */
  readonly checkRestore?: ((context: SinkRestoreContext) => Effect.Effect<void, RestoreError | ConnectorError>) | undefined
  /** The services of the application `open` and `check` need (checked before a run opens anything). */
  readonly services?: ReadonlyArray<Context.Key<unknown, unknown>> | undefined
}

/**
 * Result of decoding a node config: the prepared value, or issues with key paths relative to
 * `config` (and, for processors, a column inside the value).
 *
 * @category models
 * @since 0.1.0
 */
export type Prepared<A> =
  | { readonly ok: true; readonly value: A }
  | { readonly ok: false; readonly issues: ReadonlyArray<PathIssue & { readonly column?: number }> }

/**
 * A registered type, with its config decoding bound in (the definition's config type is hidden
 * here, so definitions of different config types live in one map).
 *
 * @category models
 * @since 0.1.0
 */
export type Entry =
  | {
    readonly kind: "source"
    readonly type: string
    readonly description: string
    readonly apiVersion: number
    readonly configSchema: Schema.Top
    readonly prepare: (config: unknown) => Prepared<PreparedSource>
  }
  | {
    readonly kind: "sink"
    readonly type: string
    readonly description: string
    readonly apiVersion: number
    readonly configSchema: Schema.Top
    readonly prepare: (config: unknown) => Prepared<PreparedSink>
  }
  | {
    readonly kind: "processor"
    readonly type: string
    readonly description: string
    readonly apiVersion: number
    readonly configSchema: Schema.Top
    readonly prepare: (config: unknown, context: MakeContext) => Prepared<Processor>
  }

/**
 * Anything that can be registered.
 *
 * @category models
 * @since 0.1.0
 */
export type Definition =
  | SourceDefinition<unknown, unknown, unknown>
  | SinkDefinition<unknown, unknown, unknown>
  | ProcessorDefinition<unknown>

/**
 * A definition declares an API version this build cannot run, or a type is registered twice for
 * the same role.
 *
 * @category errors
 * @since 0.1.0
 */
export class RegistryError extends Schema.TaggedError<RegistryError>()("RegistryError", {
  type: Schema.String,
  message: Schema.String
}) {}

/**
 * The registry service.
 *
 * @category services
 * @since 0.1.0
 */
export class Registry extends Context.Service<
  Registry,
  {
    readonly entries: ReadonlyArray<Entry>
    readonly find: (kind: Entry["kind"], type: string) => Entry | undefined
  }
>()("dataflare/Registry") {}

const entry = (definition: Definition): Entry => {
  switch (definition._tag) {
    case "SourceDefinition": {
      const def = definition
      return {
        kind: "source",
        type: def.type,
        description: def.description,
        apiVersion: def.apiVersion,
        configSchema: def.config,
        prepare: (raw) => {
          const decoded = decodeAll(def.config, raw)
          if (!decoded.ok) return decoded
          const config = decoded.value
          return {
            ok: true,
            value: {
              _tag: "PreparedSource",
              type: def.type,
              capabilities: def.capabilities(config),
              ...(def.resources !== undefined ? { resources: def.resources(config) } : {}),
              check: withRunServices()(Effect.suspend(() => def.check(config))),
              open: (context) => withRunServices<Scope.Scope>()(def.open(config, context)),
              ...(def.services !== undefined ? { services: def.services } : {}),
              ...(def.identify !== undefined ? { identify: (position: Position) => def.identify!(config, position) } : {}),
              ...(def.position !== undefined ? { position: def.position(config) } : {}),
              ...(def.fields !== undefined ? { fields: def.fields(config) } : {}),
              ...(def.checkRestore !== undefined
                ? { checkRestore: (context: SourceRestoreContext) => def.checkRestore!(config, context) }
                : {})
            }
          }
        }
      }
    }
    case "SinkDefinition": {
      const def = definition
      return {
        kind: "sink",
        type: def.type,
        description: def.description,
        apiVersion: def.apiVersion,
        configSchema: def.config,
        prepare: (raw) => {
          const decoded = decodeAll(def.config, raw)
          if (!decoded.ok) return decoded
          const config = decoded.value
          return {
            ok: true,
            value: {
              _tag: "PreparedSink",
              type: def.type,
              capabilities: def.capabilities(config),
              ...(def.resources !== undefined ? { resources: def.resources(config) } : {}),
              check: withRunServices()(Effect.suspend(() => def.check(config))),
              open: (context) => withRunServices<Scope.Scope>()(def.open(config, context)),
              ...(def.services !== undefined ? { services: def.services } : {}),
              ...(def.checkRestore !== undefined
                ? { checkRestore: (context: SinkRestoreContext) => def.checkRestore!(config, context) }
                : {})
            }
          }
        }
      }
    }
    case "ProcessorDefinition": {
      const def = definition
      return {
        kind: "processor",
        type: def.type,
        description: def.description,
        apiVersion: def.apiVersion,
        configSchema: def.config,
        prepare: (raw, context) => {
          const decoded = decodeAll(def.config, raw)
          if (!decoded.ok) return decoded
          const made = def.make(decoded.value, context)
          if (made._tag === "ProcessorConfigIssue") {
            return {
              ok: false,
              issues: [{ path: made.path, message: made.message, ...(made.column !== undefined ? { column: made.column } : {}) }]
            }
          }
          return { ok: true, value: made }
        }
      }
    }
  }
}

/**
 * Builds a registry from definitions, checking API versions and duplicates.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (definitions: ReadonlyArray<Definition>): Effect.Effect<Registry["Service"], RegistryError> =>
  Effect.gen(function*() {
    const entries: Array<Entry> = []
    const byKey = new Map<string, Entry>()
    for (const definition of definitions) {
      if (!SUPPORTED_API_VERSIONS.includes(definition.apiVersion)) {
        return yield* new RegistryError({
          type: definition.type,
          message: `connector API version ${definition.apiVersion} is not supported by this DataFlare (supported: ${
            SUPPORTED_API_VERSIONS.join(", ")
          })`
        })
      }
      const e = entry(definition)
      const key = `${e.kind}:${e.type}`
      if (byKey.has(key)) {
        return yield* new RegistryError({ type: e.type, message: `${e.kind} type '${e.type}' is registered twice` })
      }
      byKey.set(key, e)
      entries.push(e)
    }
    return Registry.of({ entries, find: (kind, type) => byKey.get(`${kind}:${type}`) })
  })

/**
 * A Layer providing a registry of the given definitions.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (definitions: ReadonlyArray<Definition>): Layer.Layer<Registry, RegistryError> =>
  Layer.effect(Registry, make(definitions))

/**
 * The types registered for a role, sorted (for "did you mean" suggestions and `--help`).
 *
 * @category getters
 * @since 0.1.0
 */
export const typesOf = (registry: Registry["Service"], kind: Entry["kind"]): ReadonlyArray<string> =>
  registry.entries.filter((e) => e.kind === kind).map((e) => e.type).sort()

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
 * A definition the registry loads when a workflow first uses its type (see {@link lazy}): the
 * registry knows its role, type and description; its module (and the client library it brings,
 * e.g. a database driver) loads only then.
 *
 * @category models
 * @since 0.4.0
 */
export interface LazyDefinition {
  readonly _tag: "LazyDefinition"
  readonly kind: Entry["kind"]
  readonly type: string
  readonly description: string
  /** Loads the definition (e.g. `() => import("./connector.ts").then((m) => m.sourceDefinition)`). */
  readonly load: () => Promise<Definition>
}

/**
 * A definition loaded on first use: `Registry.lazy("source", "mongodb", "Reads a collection", () =>
 * import("./mongodb/index.ts").then((m) => m.sourceDefinition))`. The loaded definition must have
 * the same role and type. Workflows that do not use the type never load its module.
 *
 * @category constructors
 * @since 0.4.0
 */
export const lazy = (
  kind: Entry["kind"],
  type: string,
  description: string,
  load: () => Promise<Definition>
): LazyDefinition => ({ _tag: "LazyDefinition", kind, type, description, load })

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
    /** The loaded entries (a lazy definition's once it is loaded). */
    readonly entries: ReadonlyArray<Entry>
    /** A loaded entry (see `load` for lazy definitions). */
    readonly find: (kind: Entry["kind"], type: string) => Entry | undefined
    /** Every registered type, lazy ones included, with its description. */
    readonly catalog?: ReadonlyArray<{ readonly kind: Entry["kind"]; readonly type: string; readonly description: string }>
    /**
     * Loads a lazy definition of this role and type, once (nothing for a loaded or an unknown
     * type); `find` returns it afterwards.
     */
    readonly load?: (kind: Entry["kind"], type: string) => Effect.Effect<void, RegistryError>
    /** Loads every lazy definition (e.g. to print the config Schemas of every type). */
    readonly loadAll?: Effect.Effect<void, RegistryError>
  }
>()("dataflare/Registry") {}

/** What a source and a sink definition share, with the connector's capabilities `Cap` and what `open` gives, `Out`. */
interface ConnectorParts<Cap, Out> {
  readonly type: string
  readonly services?: ReadonlyArray<Context.Key<unknown, unknown>> | undefined
  capabilities(config: unknown): Cap
  resources?(config: unknown): Resources
  check(config: unknown): Effect.Effect<void, ConnectorError, unknown>
  open(config: unknown, context: OpenContext): Effect.Effect<Out, ConnectorError, unknown>
}

/** The fields a prepared source and a prepared sink take the same way from their definition and decoded config. */
const preparedConnector = <Cap, Out>(def: ConnectorParts<Cap, Out>, config: unknown) => ({
  type: def.type,
  capabilities: def.capabilities(config),
  ...(def.resources !== undefined ? { resources: def.resources(config) } : {}),
  check: withRunServices()(Effect.suspend(() => def.check(config))),
  open: (context: OpenContext) => withRunServices<Scope.Scope>()(def.open(config, context)),
  ...(def.services !== undefined ? { services: def.services } : {})
})

/** The fields every entry takes from its definition. */
const described = <K extends Entry["kind"]>(kind: K, def: Definition) => ({
  kind,
  type: def.type,
  description: def.description,
  apiVersion: def.apiVersion,
  configSchema: def.config
})

/** Decodes a node's `raw` config with `schema`; the issues, or what `f` makes of the decoded config. */
const decodedThen = <C, A>(schema: Schema.Decoder<C>, raw: unknown, f: (config: C) => Prepared<A>): Prepared<A> => {
  const decoded = decodeAll(schema, raw)
  return decoded.ok ? f(decoded.value) : decoded
}

const entry = (definition: Definition): Entry => {
  switch (definition._tag) {
    case "SourceDefinition": {
      const def = definition
      return {
        ...described("source", def),
        prepare: (raw: unknown): Prepared<PreparedSource> =>
          decodedThen(def.config, raw, (config) => ({
            ok: true,
            value: {
              _tag: "PreparedSource",
              ...preparedConnector(def, config),
              ...(def.identify !== undefined ? { identify: (position: Position) => def.identify!(config, position) } : {}),
              ...(def.position !== undefined ? { position: def.position(config) } : {}),
              ...(def.fields !== undefined ? { fields: def.fields(config) } : {}),
              ...(def.checkRestore !== undefined
                ? { checkRestore: (context: SourceRestoreContext) => def.checkRestore!(config, context) }
                : {})
            }
          }))
      }
    }
    case "SinkDefinition": {
      const def = definition
      return {
        ...described("sink", def),
        prepare: (raw: unknown): Prepared<PreparedSink> =>
          decodedThen(def.config, raw, (config) => ({
            ok: true,
            value: {
              _tag: "PreparedSink",
              ...preparedConnector(def, config),
              ...(def.checkRestore !== undefined
                ? { checkRestore: (context: SinkRestoreContext) => def.checkRestore!(config, context) }
                : {})
            }
          }))
      }
    }
    case "ProcessorDefinition": {
      const def = definition
      return {
        ...described("processor", def),
        prepare: (raw: unknown, context: MakeContext): Prepared<Processor> =>
          decodedThen(def.config, raw, (config) => {
            const made = def.make(config, context)
            if (made._tag === "ProcessorConfigIssue") {
              return {
                ok: false,
                issues: [{ path: made.path, message: made.message, ...(made.column !== undefined ? { column: made.column } : {}) }]
              }
            }
            return { ok: true, value: made }
          })
      }
    }
  }
}

/** A definition's entry, once its API version is checked. */
const checked = (definition: Definition): Effect.Effect<Entry, RegistryError> =>
  SUPPORTED_API_VERSIONS.includes(definition.apiVersion)
    ? Effect.succeed(entry(definition))
    : Effect.fail(
      new RegistryError({
        type: definition.type,
        message: `connector API version ${definition.apiVersion} is not supported by this DataFlare (supported: ${
          SUPPORTED_API_VERSIONS.join(", ")
        })`
      })
    )

/**
 * Builds a registry from definitions, checking API versions and duplicates. A
 * {@link LazyDefinition} is checked when it loads.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (definitions: ReadonlyArray<Definition | LazyDefinition>): Effect.Effect<Registry["Service"], RegistryError> =>
  Effect.gen(function*() {
    const entries: Array<Entry> = []
    const byKey = new Map<string, Entry>()
    const pending = new Map<string, LazyDefinition>()
    const order = new Map<string, number>()
    const catalog: Array<{ readonly kind: Entry["kind"]; readonly type: string; readonly description: string }> = []
    for (const definition of definitions) {
      const kind = definition._tag === "LazyDefinition" ? definition.kind : entryKind(definition)
      const key = `${kind}:${definition.type}`
      if (byKey.has(key) || pending.has(key)) {
        return yield* new RegistryError({ type: definition.type, message: `${kind} type '${definition.type}' is registered twice` })
      }
      order.set(key, catalog.length)
      catalog.push({ kind, type: definition.type, description: definition.description })
      if (definition._tag === "LazyDefinition") {
        pending.set(key, definition)
        continue
      }
      const e = yield* checked(definition)
      byKey.set(key, e)
      entries.push(e)
    }
    const load = (kind: Entry["kind"], type: string): Effect.Effect<void, RegistryError> =>
      Effect.suspend(() => {
        const key = `${kind}:${type}`
        const lazyDefinition = pending.get(key)
        if (lazyDefinition === undefined) return Effect.void
        return Effect.tryPromise({
          try: () => lazyDefinition.load(),
          catch: (e) => new RegistryError({ type, message: `the ${kind} type '${type}' could not be loaded: ${e instanceof Error ? e.message : String(e)}` })
        }).pipe(
          Effect.flatMap((definition) =>
            entryKind(definition) !== kind || definition.type !== type
              ? Effect.fail(new RegistryError({ type, message: `the lazy ${kind} type '${type}' loaded a ${entryKind(definition)} of type '${definition.type}'` }))
              : checked(definition)
          ),
          Effect.flatMap((e) =>
            Effect.sync(() => {
              // two loads of one type at once: the first one to finish registers it
              if (!pending.delete(key)) return
              byKey.set(key, e)
              entries.push(e)
              // in the order of registration, as if it had never been lazy
              entries.sort((a, b) => order.get(`${a.kind}:${a.type}`)! - order.get(`${b.kind}:${b.type}`)!)
            })
          )
        )
      })
    return Registry.of({
      entries,
      find: (kind, type) => byKey.get(`${kind}:${type}`),
      catalog,
      load,
      loadAll: Effect.suspend(() => Effect.forEach([...pending.values()], (d) => load(d.kind, d.type), { discard: true }))
    })
  })

const entryKind = (definition: Definition): Entry["kind"] =>
  definition._tag === "SourceDefinition" ? "source" : definition._tag === "SinkDefinition" ? "sink" : "processor"

/**
 * A Layer providing a registry of the given definitions.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (definitions: ReadonlyArray<Definition | LazyDefinition>): Layer.Layer<Registry, RegistryError> =>
  Layer.effect(Registry, make(definitions))

/**
 * The types registered for a role, sorted (for "did you mean" suggestions and `--help`).
 *
 * @category getters
 * @since 0.1.0
 */
export const typesOf = (registry: Registry["Service"], kind: Entry["kind"]): ReadonlyArray<string> =>
  (registry.catalog ?? registry.entries).filter((e) => e.kind === kind).map((e) => e.type).sort()

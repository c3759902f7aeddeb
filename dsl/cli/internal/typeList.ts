/**
 * What `dataflare list` prints: every registered connector and processor type with its config
 * keys, their types, defaults and descriptions — read from the same generated JSON Schema of the
 * configs that `dataflare schema` prints (so a type registered by anyone appears, and a key's
 * description and default come from its config Schema's annotations, one place for all three).
 *
 * Pure: the command gives it the registry's type schemas.
 */
import type { JsonSchema } from "effect"
import type { TypeSchema } from "../../yaml/internal/jsonSchema.ts"

/** One config key as listed. Nested keys are dotted (`dead_letter.path`). */
export interface KeyInfo {
  readonly name: string
  /** A short type: `string`, `integer`, `duration`, `fail | dead_letter`, `list of string`, ... */
  readonly type: string
  readonly required: boolean
  /** The default, when the config Schema documents one. */
  readonly default?: unknown
  readonly description?: string
}

/** One registered type as listed. */
export interface TypeInfo {
  readonly kind: "source" | "processor" | "sink"
  readonly type: string
  readonly description: string
  /** Only the typed DSL can configure this type (its config holds functions or streams). */
  readonly dslOnly: boolean
  /** Whether a node of this type may leave `config` out. */
  readonly configOptional: boolean
  readonly keys: ReadonlyArray<KeyInfo>
}

const KIND_ORDER = { source: 0, processor: 1, sink: 2 } as const

/** The listing of every type, sources first, then processors, then sinks, by name. */
export const typeInfos = (
  types: ReadonlyArray<TypeSchema>,
  definitions: { readonly [key: string]: JsonSchema.JsonSchema }
): ReadonlyArray<TypeInfo> =>
  [...types]
    .sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.type.localeCompare(b.type))
    .map((t) => ({
      kind: t.kind,
      type: t.type,
      description: t.description,
      dslOnly: t.config === undefined,
      configOptional: t.configOptional,
      keys: t.config === undefined ? [] : keysOf(resolve(t.config, definitions), "", definitions)
    }))

const KINDS: { readonly [word: string]: TypeInfo["kind"] } = {
  source: "source",
  sources: "source",
  processor: "processor",
  processors: "processor",
  transformation: "processor",
  transformations: "processor",
  sink: "sink",
  sinks: "sink",
  destination: "sink",
  destinations: "sink"
}

/**
 * The types a `dataflare list <filter>` names: a kind (`sources`, `processors`, `sinks`, singular
 * or plural, or the YAML section's word) or a type name (every kind with that name: `csv` is a
 * source and a sink). `undefined` when nothing matches.
 */
export const select = (infos: ReadonlyArray<TypeInfo>, filter: string | undefined): ReadonlyArray<TypeInfo> | undefined => {
  if (filter === undefined) return infos
  const kind = KINDS[filter.toLowerCase()]
  const chosen = kind === undefined ? infos.filter((i) => i.type === filter) : infos.filter((i) => i.kind === kind)
  return chosen.length === 0 && kind === undefined ? undefined : chosen
}

/** The listing as text: one block per type, its keys aligned in columns. */
export const render = (infos: ReadonlyArray<TypeInfo>): string => {
  const blocks = infos.map((info) => {
    const head = `${info.kind} ${info.type} — ${info.description}`
    if (info.dslOnly) return `${head}\n  (configured from the typed DSL only: its config holds functions)`
    if (info.keys.length === 0) return `${head}\n  (no config keys)`
    const rows = info.keys.map((k) => [
      k.name,
      k.required ? `${k.type}, required` : k.default === undefined ? k.type : `${k.type}, default ${JSON.stringify(k.default)}`,
      k.description ?? ""
    ])
    const widths = [0, 1].map((c) => Math.min(44, Math.max(...rows.map((r) => r[c].length))))
    const lines = rows.map((r) => `  ${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`.trimEnd())
    return [head, ...lines].join("\n")
  })
  return blocks.join("\n\n")
}

/** Every type name of the registry, for the message of an unknown filter. */
export const knownNames = (infos: ReadonlyArray<TypeInfo>): ReadonlyArray<string> => [...new Set(infos.map((i) => i.type))].sort()

const ENV_REF = "#/$defs/env_reference"

const isObject = (value: unknown): value is JsonSchema.JsonSchema =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The schema with its `$ref` (into the shared definitions) followed and the alternative of a
 * `${VAR}` reference removed: what a key holds once variables are substituted. Annotations of the
 * outer node (description, default) win over the inner one's.
 */
const resolve = (
  schema: JsonSchema.JsonSchema,
  definitions: { readonly [key: string]: JsonSchema.JsonSchema }
): JsonSchema.JsonSchema => {
  let node = schema
  for (let depth = 0; depth < 16; depth++) {
    if (typeof node.$ref === "string" && node.$ref.startsWith("#/$defs/")) {
      const target = definitions[node.$ref.slice("#/$defs/".length)]
      if (target === undefined) return node
      const { $ref: _, ...outer } = node
      node = { ...target, ...outer }
      continue
    }
    if (Array.isArray(node.anyOf)) {
      const kept = (node.anyOf as ReadonlyArray<unknown>).filter((s) => !(isObject(s) && s.$ref === ENV_REF))
      if (kept.length !== node.anyOf.length) {
        const { anyOf: _, ...outer } = node
        if (kept.length === 1 && isObject(kept[0])) {
          node = { ...kept[0], ...outer }
          continue
        }
        node = { ...outer, anyOf: kept }
      }
    }
    // Key annotations (`annotateKey`) come out as `allOf: [{ description, default }]`.
    if (Array.isArray(node.allOf) && node.allOf.length > 0 && node.allOf.every(isAnnotationsOnly)) {
      const { allOf, ...outer } = node
      node = Object.assign({}, ...(allOf as ReadonlyArray<JsonSchema.JsonSchema>), outer)
      continue
    }
    return node
  }
  return node
}

const ANNOTATION_KEYS: ReadonlyArray<string> = ["title", "description", "default", "examples"]

const isAnnotationsOnly = (value: unknown): boolean =>
  isObject(value) && Object.keys(value).every((key) => ANNOTATION_KEYS.includes(key))

const DURATION_PATTERN = "^(\\d+(?:\\.\\d+)?)(ms|s|m|h)$"

/** A short text of what a schema accepts. */
const typeText = (
  schema: JsonSchema.JsonSchema,
  definitions: { readonly [key: string]: JsonSchema.JsonSchema }
): string => {
  const node = resolve(schema, definitions)
  if (Array.isArray(node.anyOf)) {
    const members = (node.anyOf as ReadonlyArray<unknown>).filter(isObject).map((s) => resolve(s, definitions))
    if (members.some((m) => m.pattern === DURATION_PATTERN)) return "duration"
    return [...new Set(members.map((m) => typeText(m, definitions)))].join(" | ")
  }
  if (Array.isArray(node.enum)) return (node.enum as ReadonlyArray<unknown>).map((v) => String(v)).join(" | ")
  if ("const" in node) return JSON.stringify(node.const)
  if (node.pattern === DURATION_PATTERN) return "duration"
  const type = Array.isArray(node.type) ? (node.type as ReadonlyArray<string>).join(" | ") : node.type
  if (type === "array") {
    const items = isObject(node.items) ? node.items : isObject(node.prefixItems) ? node.prefixItems : undefined
    return items === undefined ? "list" : `list of ${typeText(items, definitions)}`
  }
  if (type === "object") {
    if (isObject(node.additionalProperties)) return `mapping of name → ${typeText(node.additionalProperties, definitions)}`
    return "mapping"
  }
  return typeof type === "string" ? type : "any"
}

/** The keys of an object schema, nested objects' keys dotted under their parent's. */
const keysOf = (
  schema: JsonSchema.JsonSchema,
  prefix: string,
  definitions: { readonly [key: string]: JsonSchema.JsonSchema }
): ReadonlyArray<KeyInfo> => {
  const node = resolve(schema, definitions)
  if (!isObject(node.properties)) return []
  const required = new Set(Array.isArray(node.required) ? (node.required as ReadonlyArray<string>) : [])
  const out: Array<KeyInfo> = []
  for (const [name, raw] of Object.entries(node.properties)) {
    if (!isObject(raw)) continue
    const property = resolve(raw, definitions)
    const description = typeof property.description === "string" ? firstLine(property.description) : undefined
    out.push({
      name: prefix + name,
      type: typeText(property, definitions),
      required: required.has(name),
      ...(property.default === undefined ? {} : { default: property.default }),
      ...(description === undefined ? {} : { description })
    })
    if (property.type === "object" && isObject(property.properties)) out.push(...keysOf(property, `${prefix}${name}.`, definitions))
  }
  return out
}

const firstLine = (text: string): string => text.split("\n")[0].trim()

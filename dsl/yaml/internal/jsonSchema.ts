/**
 * The JSON Schema (draft 2020-12) of a workflow file, for editors (`# yaml-language-server:
 * $schema=...`): completion of keys and node types, descriptions, and errors as you type.
 *
 * Generated, never written by hand, from what reads a workflow:
 * - the file's frame (top-level keys, node keys) from the loader's key lists
 *   ({@link TOP_LEVEL_KEYS}, {@link NODE_KEYS}) with the loader's rules (a non-empty `name`, at
 *   least one source and one destination, `inputs` a list of node ids, ...);
 * - `execution` from `WorkflowGraph.ExecutionSettings`, the Schema that decodes it;
 * - each node's `config` from the config Schema of its `type` in the registry (every connector
 *   and processor registered, third-party ones included), chosen by `if`/`then` on `type`.
 *
 * What JSON Schema cannot say is left to `dataflare validate` (see configJsonSchema.ts and
 * docs/cli.md): node ids unique across sections, `inputs` naming existing nodes, no cycles,
 * custom checks of configs and processors' own checks (expressions). The schema accepts more
 * than `validate` there, never less.
 */
import type { JsonSchema } from "effect"
import type { Entry } from "../../../src/Registry.ts"
import * as WorkflowGraph from "../../../src/WorkflowGraph.ts"
import { acceptsEmpty, allowEnvReferences, ENV_REFERENCE, envReferenceSchema, fileConfigJsonSchema } from "./configJsonSchema.ts"
import { NODE_KEYS, PROCESSOR_KEYS, TOP_LEVEL_KEYS } from "./loader.ts"

/** The dialect's meta-schema URI. */
export const DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

const SECTIONS = [
  { kind: "source", word: "source" },
  { kind: "processor", word: "transformation" },
  { kind: "sink", word: "destination" }
] as const

const NODE_KEY_SCHEMAS: { readonly [key in (typeof NODE_KEYS)[number]]: JsonSchema.JsonSchema } = {
  type: { description: "The registry type of the node (see `dataflare list`)" },
  inputs: {
    description: "Ids of the nodes this node reads from (`node.port` for a side output)",
    type: "array",
    items: { type: "string", minLength: 1 }
  },
  parallelism: {
    description: "Task instances of this node (default: execution.parallelism, up to what the connector runs)",
    type: "integer",
    minimum: 1
  },
  config: { description: "The node's settings, decoded by its type's config Schema", type: ["object", "null"] },
  key_by: {
    description: "Partition the input by these fields: records with one key reach one instance, in order",
    anyOf: [
      { type: "string", minLength: 1 },
      { type: "array", items: { type: "string", minLength: 1 }, minItems: 1 }
    ]
  },
  ordered: { description: "With parallelism > 1: emit batches in input order", type: "boolean" },
  on_error: {
    description: "What a record the transformation fails on does: fail the run (default) or go to dead_letter",
    enum: ["fail", "dead_letter"]
  },
  dead_letter: {
    description: "With on_error: dead_letter: the NDJSON file records are set aside in ({ path, max_bytes }), or the destination they go to ({ to })",
    anyOf: [
      {
        type: "object",
        properties: { path: { type: "string", minLength: 1 }, max_bytes: { type: "integer", minimum: 1 } },
        required: ["path"],
        additionalProperties: false
      },
      {
        type: "object",
        properties: { to: { description: "The id of a destination of this workflow", type: "string", minLength: 1 } },
        required: ["to"],
        additionalProperties: false
      }
    ]
  }
}

const TOP_LEVEL_SCHEMAS: { readonly [key in (typeof TOP_LEVEL_KEYS)[number]]: JsonSchema.JsonSchema } = {
  name: { description: "The workflow's name (shown in summaries and metrics)", type: "string", pattern: "\\S" },
  version: { description: "The workflow's version; a number is kept as written", type: ["string", "number"] },
  execution: { description: "Run settings (every key optional)", $ref: "#/$defs/execution" },
  sources: {
    description: "Node id → source node (at least one)",
    type: "object",
    minProperties: 1,
    propertyNames: { minLength: 1 },
    additionalProperties: { $ref: "#/$defs/source" }
  },
  transformations: {
    description: "Node id → transformation (processor) node",
    type: ["object", "null"],
    propertyNames: { minLength: 1 },
    additionalProperties: { $ref: "#/$defs/transformation" }
  },
  destinations: {
    description: "Node id → destination (sink) node (at least one)",
    type: "object",
    minProperties: 1,
    propertyNames: { minLength: 1 },
    additionalProperties: { $ref: "#/$defs/destination" }
  }
}

/** What the generated schema says about one registered type (for `dataflare list` too). */
export interface TypeSchema {
  readonly kind: Entry["kind"]
  readonly type: string
  readonly description: string
  /** The config's schema (`$ref`s into {@link WorkflowJsonSchema.$defs}); absent: DSL only. */
  readonly config?: JsonSchema.JsonSchema
  /** A node of this type may leave `config` out. */
  readonly configOptional: boolean
}

/**
 * The configs of every registered type as a file writes them, and the definitions they refer to.
 */
export const typeSchemas = (entries: ReadonlyArray<Entry>): {
  readonly types: ReadonlyArray<TypeSchema>
  readonly definitions: { readonly [key: string]: JsonSchema.JsonSchema }
} => {
  const definitions: { [key: string]: JsonSchema.JsonSchema } = {}
  const types = entries.map((entry): TypeSchema => {
    const generated = fileConfigJsonSchema(entry.configSchema, `${entry.kind}.${entry.type}.`)
    const base = { kind: entry.kind, type: entry.type, description: entry.description }
    if (generated === undefined) return { ...base, configOptional: false }
    for (const [key, schema] of Object.entries(generated.definitions)) definitions[key] = allowEnvReferences(schema)
    return { ...base, config: allowEnvReferences(generated.schema), configOptional: acceptsEmpty(entry.configSchema) }
  })
  return { types, definitions }
}

/** The JSON Schema of a workflow file whose types are those of `entries`. */
export const workflowJsonSchema = (entries: ReadonlyArray<Entry>): JsonSchema.JsonSchema => {
  const { types, definitions } = typeSchemas(entries)
  const $defs: { [key: string]: JsonSchema.JsonSchema } = {}
  const execution = fileConfigJsonSchema(WorkflowGraph.ExecutionSettings, "execution.")
  for (const [key, schema] of Object.entries(execution?.definitions ?? {})) $defs[key] = allowEnvReferences(schema)
  $defs.execution = { anyOf: [{ type: "null" }, allowEnvReferences(execution?.schema ?? { type: "object" })] }
  for (const { kind, word } of SECTIONS) {
    const ofKind = types.filter((t) => t.kind === kind && t.config !== undefined).sort((a, b) => a.type.localeCompare(b.type))
    const keys = NODE_KEYS.filter((k) => (kind !== "source" || k !== "inputs") && (kind === "processor" || !PROCESSOR_KEYS.includes(k)))
    const properties: { [key: string]: JsonSchema.JsonSchema } = {}
    for (const key of keys) properties[key] = NODE_KEY_SCHEMAS[key]
    properties.type = ofKind.length === 0
      ? { ...NODE_KEY_SCHEMAS.type, not: {} }
      : allowEnvReferences({ ...NODE_KEY_SCHEMAS.type, anyOf: ofKind.map((t) => ({ const: t.type, description: t.description })) })
    properties.parallelism = allowEnvReferences(NODE_KEY_SCHEMAS.parallelism)
    properties.ordered = allowEnvReferences(NODE_KEY_SCHEMAS.ordered)
    $defs[word] = {
      description: `A ${word} node: its type, ${kind === "source" ? "" : "inputs, "}config and run settings`,
      type: "object",
      properties,
      required: kind === "source" ? ["type"] : ["type", "inputs"],
      additionalProperties: false,
      allOf: ofKind.map((t) => {
        const ref = `${kind}.${t.type}`
        $defs[ref] = { description: t.description, ...t.config }
        return {
          if: { properties: { type: { const: t.type } }, required: ["type"] },
          // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword, in plain data
          then: t.configOptional
            ? { properties: { config: { anyOf: [{ type: "null" }, { $ref: `#/$defs/${ref}` }] } } }
            : { properties: { config: { $ref: `#/$defs/${ref}` } }, required: ["config"] }
        }
      })
    }
  }
  Object.assign($defs, definitions)
  $defs[ENV_REFERENCE] = envReferenceSchema
  const properties: { [key: string]: JsonSchema.JsonSchema } = {}
  for (const key of TOP_LEVEL_KEYS) properties[key] = TOP_LEVEL_SCHEMAS[key]
  return {
    $schema: DRAFT_2020_12,
    title: "DataFlare workflow",
    description:
      "A DataFlare workflow file: sources, transformations and destinations (docs/yaml.md). Generated by `dataflare schema` from the Schemas that decode it; `dataflare validate` checks what JSON Schema cannot (ids, inputs, expressions).",
    type: "object",
    properties,
    required: ["name", "sources", "destinations"],
    additionalProperties: false,
    $defs
  }
}

/**
 * The JSON Schema (draft 2020-12) of one node config as a workflow *file* can write it, generated
 * from the config Schema the registry decodes it with (`Schema.toJsonSchemaDocument`), then
 * corrected where Effect's JSON form and a YAML file differ:
 *
 * - **DSL-only keys.** A key whose Schema is an opaque `Schema.declare` (a function, an Effect
 *   Stream, a Schema: `predicate`, `fn`, `make`, `schema`, ...) cannot be written in YAML, whose
 *   values are plain data. Effect's generator shows such a key as `{}` (anything); here an
 *   optional one is left out (so an editor does not offer it and `additionalProperties: false`
 *   refuses it, as `validate` does), an object that requires one becomes unsatisfiable, a union
 *   drops the members that became unsatisfiable, and an object whose every key was DSL-only is
 *   unsatisfiable too. A type whose whole config is unsatisfiable is DSL-only
 *   ({@link fileConfigJsonSchema} returns `undefined`).
 * - **Numbers.** Effect's JSON codec spells non-finite numbers as the strings `"NaN"`,
 *   `"Infinity"`, `"-Infinity"`; the registry decodes the YAML value itself, where such a string is
 *   no number. Those alternatives are removed.
 * - **`${VAR}` references.** The loader substitutes environment variables in scalar values before
 *   decoding, and types an unquoted value again afterwards (`batch_size: ${BATCH:-500}` is the
 *   number 500). So wherever a number, a boolean or a constrained string is expected, a string
 *   holding `${` is accepted too ({@link allowEnvReferences}).
 *
 * What JSON Schema cannot say (a custom `Schema.makeFilter`: `required` columns listed in
 * `columns`, a duration greater than 0, a processor's own checks in `make` such as an expression
 * that must parse) is left to `dataflare validate`: the generated schema accepts more than the
 * decoder there, never less.
 */
import { Exit, type JsonSchema, Schema, SchemaAST } from "effect"

/** The `$defs` key of the schema of an environment variable reference. */
export const ENV_REFERENCE = "env_reference"

const OPEN = "$" + "{"

/** The schema of a `${VAR}` reference, kept once under `$defs`. */
export const envReferenceSchema: JsonSchema.JsonSchema = {
  type: "string",
  pattern: "\\$\\{",
  description: `An environment variable reference (${OPEN}VAR} or ${OPEN}VAR:-default}), substituted when the workflow is loaded`
}

const ENV_REF: JsonSchema.JsonSchema = { $ref: `#/$defs/${ENV_REFERENCE}` }

/** An opaque declaration with no JSON form: a value only the DSL can give (a function, a Stream). */
const isDslOnly = (ast: SchemaAST.AST): boolean =>
  SchemaAST.isDeclaration(ast) && ast.encoding === undefined && ast.annotations?.toCodecJson === undefined &&
  ast.annotations?.toCodec === undefined

/**
 * The AST with the DSL-only parts removed, or `undefined` when nothing a file can write satisfies
 * it. Nodes with a transformation (`encoding`) are kept as they are: their encoded side is what a
 * file writes, and Effect's generator describes it.
 */
const forFiles = (ast: SchemaAST.AST): SchemaAST.AST | undefined => {
  if (isDslOnly(ast)) return undefined
  if (ast.encoding !== undefined) return ast
  if (SchemaAST.isObjects(ast)) {
    const properties: Array<SchemaAST.PropertySignature> = []
    let changed = false
    for (const property of ast.propertySignatures) {
      const type = forFiles(property.type)
      if (type === undefined) {
        if (!SchemaAST.isOptional(property.type)) return undefined
        changed = true
      } else {
        if (type !== property.type) changed = true
        properties.push(type === property.type ? property : new SchemaAST.PropertySignature(property.name, type))
      }
    }
    if (ast.propertySignatures.length > 0 && properties.length === 0 && ast.indexSignatures.length === 0) return undefined
    const indexes: Array<SchemaAST.IndexSignature> = []
    for (const index of ast.indexSignatures) {
      const type = forFiles(index.type)
      if (type !== index.type) changed = true
      indexes.push(type === index.type ? index : new SchemaAST.IndexSignature(index.parameter, type ?? SchemaAST.never))
    }
    return changed
      ? new SchemaAST.Objects(properties, indexes, ast.annotations, ast.checks, undefined, ast.context, ast.encodingChecks)
      : ast
  }
  if (SchemaAST.isUnion(ast)) {
    const types = ast.types.map(forFiles)
    const kept = types.filter((t): t is SchemaAST.AST => t !== undefined)
    if (kept.length === 0) return undefined
    return kept.length === ast.types.length && types.every((t, i) => t === ast.types[i])
      ? ast
      : new SchemaAST.Union(kept, ast.options, ast.annotations, ast.checks, undefined, ast.context, ast.encodingChecks)
  }
  return ast
}

/** A config's JSON Schema and the definitions it refers to (under `$defs`). */
export interface ConfigJsonSchema {
  readonly schema: JsonSchema.JsonSchema
  readonly definitions: { readonly [key: string]: JsonSchema.JsonSchema }
}

/**
 * The JSON Schema of a config as a file writes it (see the module doc), or `undefined` when the
 * type can only be used from the DSL. Definitions (Schemas with an `identifier`) are named
 * `<prefix><identifier>`, so that configs of several types share one `$defs`.
 */
export const fileConfigJsonSchema = (config: Schema.Top, prefix: string): ConfigJsonSchema | undefined => {
  const ast = forFiles(config.ast)
  if (ast === undefined) return undefined
  const document = Schema.toJsonSchemaDocument(Schema.make(ast), { onExcessProperty: "error" })
  const rewrite = (schema: JsonSchema.JsonSchema): JsonSchema.JsonSchema =>
    withoutNonFiniteStrings(mapSchema(liftKeyAnnotations(schema), (node) =>
      typeof node.$ref === "string" && node.$ref.startsWith("#/$defs/")
        ? { ...node, $ref: `#/$defs/${prefix}${node.$ref.slice("#/$defs/".length)}` }
        : node))
  return {
    schema: rewrite(document.schema),
    definitions: Object.fromEntries(
      Object.entries(document.definitions).map(([key, schema]) => [`${prefix}${key}`, rewrite(schema)])
    )
  }
}

/** Whether a config of this Schema may be left out (it decodes `{}`). */
export const acceptsEmpty = (config: Schema.Top): boolean =>
  Exit.isSuccess(Schema.decodeUnknownExit(config as Schema.Decoder<unknown>, { onExcessProperty: "error" })({}))

/**
 * Effect writes a key's annotations (`Schema.optionalKey(S).annotateKey({ description })`) as
 * `allOf: [{ description }]` beside the key's schema; editors show a description where it is
 * the key's own keyword, so annotation-only members of `allOf` are moved up (unless the node has
 * that keyword already).
 */
const liftKeyAnnotations = (schema: JsonSchema.JsonSchema): JsonSchema.JsonSchema =>
  mapSchema(schema, (node) => {
    if (!Array.isArray(node.allOf)) return node
    const members = node.allOf as ReadonlyArray<unknown>
    const lifted = members.filter((m): m is JsonSchema.JsonSchema =>
      isSchemaObject(m) && Object.keys(m).every((k) => (ANNOTATIONS as ReadonlyArray<string>).includes(k) && !(k in node))
    )
    if (lifted.length === 0) return node
    const { allOf: _, ...rest } = node
    const kept = members.filter((m) => !lifted.includes(m as JsonSchema.JsonSchema))
    return Object.assign({}, rest, ...lifted, kept.length > 0 ? { allOf: kept } : {})
  })

const isNonFiniteStrings = (s: unknown): boolean => {
  if (typeof s !== "object" || s === null || Array.isArray(s)) return false
  const o = s as JsonSchema.JsonSchema
  const values = o.enum
  return o.type === "string" && Object.keys(o).length === 2 && Array.isArray(values) && values.length === 3 &&
    ["NaN", "Infinity", "-Infinity"].every((v) => values.includes(v))
}

/** Removes the `"NaN" | "Infinity" | "-Infinity"` alternatives of numbers (see the module doc). */
const withoutNonFiniteStrings = (schema: JsonSchema.JsonSchema): JsonSchema.JsonSchema =>
  mapSchema(schema, (node) => {
    if (!Array.isArray(node.anyOf) || !node.anyOf.some(isNonFiniteStrings)) return node
    const anyOf = (node.anyOf as ReadonlyArray<JsonSchema.JsonSchema>).filter((s) => !isNonFiniteStrings(s))
    const { anyOf: _, ...rest } = node
    if (anyOf.length !== 1) return { ...rest, anyOf }
    return mergeInto(anyOf[0], rest)
  })

/** `schema` with the keywords of `outer` added, unless a keyword is in both (then nested in `allOf`). */
const mergeInto = (schema: JsonSchema.JsonSchema, outer: JsonSchema.JsonSchema): JsonSchema.JsonSchema => {
  const clash = Object.keys(outer).some((k) => k in schema)
  return clash ? { ...outer, allOf: [schema] } : { ...schema, ...outer }
}

const ANNOTATIONS = ["title", "description", "default", "examples"] as const

const SCALAR_TYPES: ReadonlyArray<unknown> = ["integer", "number", "boolean", "null"]

const STRING_CONSTRAINTS = ["pattern", "enum", "const", "maxLength", "format"] as const

/** A string constraint a `${...}` text may fail (any has at least two characters). */
const constrainsString = (node: JsonSchema.JsonSchema): boolean =>
  STRING_CONSTRAINTS.some((k) => k in node) || (typeof node.minLength === "number" && node.minLength > 2)

/** The schema accepts scalars only (a YAML value `${VAR}` can stand for nothing else). */
const scalarOnly = (node: JsonSchema.JsonSchema): boolean => {
  if (Array.isArray(node.anyOf)) return (node.anyOf as ReadonlyArray<JsonSchema.JsonSchema>).every(scalarOnly)
  if (node.type === "string" || SCALAR_TYPES.includes(node.type)) return true
  return node.type === undefined && ("const" in node || "enum" in node)
}

/** The schema accepts every string written `${...}`. */
const acceptsReferences = (node: JsonSchema.JsonSchema): boolean =>
  (node.type === "string" && !constrainsString(node) && !("allOf" in node)) ||
  (Array.isArray(node.anyOf) && (node.anyOf as ReadonlyArray<JsonSchema.JsonSchema>).some(acceptsReferences)) ||
  node.$ref === ENV_REF.$ref

/**
 * Lets every scalar that a `${VAR}` reference could stand for be written as one (see the module
 * doc): `{ type: integer }` becomes `{ anyOf: [{ type: integer }, { $ref: env_reference }] }`, with
 * its description and default kept outside, where editors show them.
 */
export const allowEnvReferences = (schema: JsonSchema.JsonSchema): JsonSchema.JsonSchema => {
  const go = (node: JsonSchema.JsonSchema): JsonSchema.JsonSchema => {
    if (!scalarOnly(node)) return mapChildren(node, go)
    if (acceptsReferences(node)) return node
    const outer: { [key: string]: unknown } = {}
    const inner: { [key: string]: unknown } = {}
    for (const [key, value] of Object.entries(node)) {
      if ((ANNOTATIONS as ReadonlyArray<string>).includes(key)) outer[key] = value
      else inner[key] = value
    }
    if (Array.isArray(inner.anyOf) && Object.keys(inner).length === 1) {
      return { ...outer, anyOf: [...(inner.anyOf as ReadonlyArray<JsonSchema.JsonSchema>), ENV_REF] }
    }
    return { ...outer, anyOf: [inner, ENV_REF] }
  }
  return go(schema)
}

const SUBSCHEMA_MAPS = ["properties", "patternProperties", "$defs"] as const
const SUBSCHEMAS = ["additionalProperties", "items", "propertyNames", "not", "if", "then", "else", "contains"] as const
const SUBSCHEMA_LISTS = ["anyOf", "oneOf", "allOf", "prefixItems"] as const

/** The node with `f` applied to each of its direct subschemas. */
const mapChildren = (
  node: JsonSchema.JsonSchema,
  f: (node: JsonSchema.JsonSchema) => JsonSchema.JsonSchema
): JsonSchema.JsonSchema => {
  const out: { [key: string]: unknown } = { ...node }
  for (const key of SUBSCHEMA_MAPS) {
    const value = node[key]
    if (isSchemaObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isSchemaObject(v) ? f(v) : v]))
    }
  }
  for (const key of SUBSCHEMAS) {
    const value = node[key]
    if (isSchemaObject(value)) out[key] = f(value)
  }
  for (const key of SUBSCHEMA_LISTS) {
    const value = node[key]
    if (Array.isArray(value)) out[key] = value.map((v: unknown) => (isSchemaObject(v) ? f(v) : v))
  }
  return out
}

/** Rewrites a schema bottom-up: `f` sees each node after its subschemas were rewritten. */
const mapSchema = (
  schema: JsonSchema.JsonSchema,
  f: (node: JsonSchema.JsonSchema) => JsonSchema.JsonSchema
): JsonSchema.JsonSchema => {
  const go = (node: JsonSchema.JsonSchema): JsonSchema.JsonSchema => f(mapChildren(node, go))
  return go(schema)
}

const isSchemaObject = (value: unknown): value is JsonSchema.JsonSchema =>
  typeof value === "object" && value !== null && !Array.isArray(value)

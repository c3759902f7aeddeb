/**
 * Keeping credentials out of the cluster's tables: a submitted workflow travels as JSON in the
 * message table (`<prefix>_messages`), readable by whoever reads the cluster's database. So its
 * node configs carry environment *references*, `${env:NAME}` (or `${env:NAME:-default}`), which
 * each runner resolves against its own environment when it starts a part; `submit` resolves them
 * against its environment only to check the workflow, and refuses one that holds a credential in
 * clear (a URL with a password, a `password` / `secret` / `token` / ... field with a literal value).
 *
 * The YAML loader substitutes `${NAME}` when it loads a file; `dataflare submit` loads the file a
 * second time with every set variable turned into its `${env:NAME}` reference
 * ({@link deferringEnv}) and keeps those references in the node configs' strings
 * ({@link deferReferences}).
 */
import type { Node, WorkflowGraph } from "../../WorkflowGraph.ts"

/** Environment variables: name → value (`undefined` for unset). */
export type Env = { readonly [name: string]: string | undefined }

const REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/** Whether a string holds an environment reference. */
export const hasReference = (text: string): boolean => text.includes("${env:")

/** A reference that could not be resolved: the node, the config field's dotted path, the variable. */
export interface Unresolved {
  readonly node: string
  readonly field: string
  readonly variable: string
}

type Json = unknown

const mapStrings = (value: Json, path: string, f: (text: string, path: string) => Json): Json => {
  if (typeof value === "string") return f(value, path)
  if (Array.isArray(value)) return value.map((v, i) => mapStrings(v, `${path}[${i}]`, f))
  if (typeof value === "object" && value !== null) {
    const out: Record<string, Json> = {}
    for (const [k, v] of Object.entries(value)) out[k] = mapStrings(v, path === "" ? k : `${path}.${k}`, f)
    return out
  }
  return value
}

const mapConfigs = (graph: WorkflowGraph, f: (node: Node, config: Json) => Json): WorkflowGraph => ({
  ...graph,
  nodes: graph.nodes.map((node) => (node.config === undefined ? node : { ...node, config: f(node, node.config) }))
})

/**
 * Resolves every `${env:NAME}` reference in the node configs against `env`: the resolved graph,
 * or the references whose variable is unset (and has no default).
 */
export const resolve = (
  graph: WorkflowGraph,
  env: Env
): { readonly ok: true; readonly graph: WorkflowGraph } | { readonly ok: false; readonly unresolved: ReadonlyArray<Unresolved> } => {
  const unresolved: Array<Unresolved> = []
  const resolved = mapConfigs(graph, (node, config) =>
    mapStrings(config, "", (text, field) =>
      hasReference(text)
        ? text.replace(REFERENCE, (reference, name: string, fallback: string | undefined) => {
          const value = env[name]
          if (value !== undefined && value !== "") return value
          if (fallback !== undefined) return fallback
          if (value !== undefined) return value
          unresolved.push({ node: node.id, field, variable: name })
          return reference
        })
        : text))
  return unresolved.length > 0 ? { ok: false, unresolved } : { ok: true, graph: resolved }
}

/** `node 'src' config.connection_string: environment variable PG_URL is not set`. */
export const describeUnresolved = (u: ReadonlyArray<Unresolved>): string =>
  u.map((x) => `node '${x.node}' config.${x.field}: environment variable ${x.variable} is not set`).join("; ")

/** Config fields whose literal value is a credential. */
const SECRET_FIELD = /(^|_)(password|passwd|secret|token|api_?key|access_?key|private_?key|credentials?)$/i
/** `scheme://user:password@host`: a URL with a password. */
const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:[^/@\s]+@/i

/** Where the node configs hold a credential in clear (not through an `${env:...}` reference). */
export const literalCredentials = (graph: WorkflowGraph): ReadonlyArray<{ readonly node: string; readonly field: string }> => {
  const found: Array<{ node: string; field: string }> = []
  mapConfigs(graph, (node, config) =>
    mapStrings(config, "", (text, field) => {
      if (text === "" || hasReference(text)) return text
      const key = field.slice(field.lastIndexOf(".") + 1)
      if (SECRET_FIELD.test(key) || URL_PASSWORD.test(text)) found.push({ node: node.id, field })
      return text
    }))
  return found
}

/**
 * An environment where every set variable's value is its own `${env:NAME}` reference (an unset
 * one stays unset, so a `${NAME:-default}` keeps its default): loading a YAML file with it gives
 * the workflow with references where the real load has values.
 */
export const deferringEnv = (env: Env): Env =>
  Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined).map(([name]) => [name, `\${env:${name}}`]))

/**
 * The workflow to submit: `resolved` (loaded with the real environment), whose node config
 * strings come from `deferred` (loaded with {@link deferringEnv}) where that holds a reference,
 * except the file `path`s (resolved at submit: they are made absolute there) and values the real
 * load typed as something other than a string (a `batch_size: ${N}` is the number).
 */
export const deferReferences = (resolved: WorkflowGraph, deferred: WorkflowGraph): WorkflowGraph => {
  const merge = (real: Json, later: Json, key: string): Json => {
    if (typeof real === "string") return typeof later === "string" && hasReference(later) && key !== "path" ? later : real
    if (Array.isArray(real)) return real.map((v, i) => merge(v, Array.isArray(later) ? later[i] : undefined, key))
    if (typeof real === "object" && real !== null) {
      const other = typeof later === "object" && later !== null ? (later as Record<string, Json>) : {}
      const out: Record<string, Json> = {}
      for (const [k, v] of Object.entries(real)) out[k] = merge(v, other[k], k)
      return out
    }
    return real
  }
  return {
    ...resolved,
    nodes: resolved.nodes.map((node) => {
      const twin = deferred.nodes.find((n) => n.id === node.id)
      return twin === undefined || node.config === undefined ? node : { ...node, config: merge(node.config, twin.config, "") }
    })
  }
}

// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow texts contain ${VAR} and ${env:VAR} references
/**
 * Credentials in cluster workflows: `${env:NAME}` references resolved against an environment,
 * credentials in clear found, and the workflow to submit built from two loads of a YAML file.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import { deferReferences, deferringEnv, describeUnresolved, literalCredentials, resolve } from "../../src/cluster/internal/secrets.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

const graph = (config: unknown) =>
  WorkflowGraph.make({ name: "w", nodes: [{ kind: "source", id: "src", type: "postgres", config, inputs: [] }] })

describe("cluster secrets", () => {
  it("resolves references against the environment, defaults included, and names what is unset", () => {
    const g = graph({ connection_string: "${env:PG}", table: "t_${env:SUFFIX:-x}", nested: [{ token: "${env:TOKEN}" }] })
    const ok = resolve(g, { PG: "postgres://u:p@h/db", TOKEN: "abc" })
    expect(ok.ok && ok.graph.nodes[0]!.config).toEqual({ connection_string: "postgres://u:p@h/db", table: "t_x", nested: [{ token: "abc" }] })
    const missing = resolve(g, {})
    expect(missing.ok).toBe(false)
    if (!missing.ok) {
      expect(describeUnresolved(missing.unresolved)).toBe(
        "node 'src' config.connection_string: environment variable PG is not set; node 'src' config.nested[0].token: environment variable TOKEN is not set"
      )
    }
  })

  it("finds credentials in clear, not references nor URLs without a password", () => {
    expect(literalCredentials(graph({ connection_string: "postgres://postgres@127.0.0.1/test", password: "${env:PW}" }))).toEqual([])
    expect(literalCredentials(graph({ connection_string: "postgres://u:pw@h/db", auth: { api_key: "k", user: "u" }, sasl_password: "x" }))).toEqual([
      { node: "src", field: "connection_string" },
      { node: "src", field: "auth.api_key" },
      { node: "src", field: "sasl_password" }
    ])
  })

  it("keeps a YAML file's ${NAME} as a reference, but not in paths nor in values typed as numbers", async () => {
    const text = `name: w
sources:
  src:
    type: postgres
    config:
      connection_string: \${PG}
      table: t
      batch_size: \${N}
destinations:
  out:
    type: csv
    inputs: [src]
    config:
      path: \${DIR}/out.csv
`
    const env = { PG: "postgres://u:pw@h/db", N: "500", DIR: "/data" }
    const resolved = await Effect.runPromise(Yaml.parse(text, { file: "w.yaml", env }))
    const deferred = await Effect.runPromise(Yaml.parse(text, { file: "w.yaml", env: deferringEnv(env) }))
    const submitted = deferReferences(resolved, deferred)
    expect(submitted.nodes.map((n) => n.config)).toEqual([
      { connection_string: "${env:PG}", table: "t", batch_size: 500 },
      { path: "/data/out.csv" }
    ])
    expect(literalCredentials(submitted)).toEqual([])
  })
})

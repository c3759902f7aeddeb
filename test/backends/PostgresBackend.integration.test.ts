import { afterAll } from "@effect/vitest"
import pg from "pg"
import * as PostgresBackend from "../../src/backends/PostgresBackend.ts"
import { backendSuite } from "../../src/testing/backendSuite.ts"

const URL = process.env.DATAFLARE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = `state_suite_${process.pid}_${Math.floor(Math.random() * 1e9)}`

afterAll(async () => {
  const client = new pg.Client({ connectionString: URL })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`)
  await client.end()
})

backendSuite("postgres backend", PostgresBackend.make({ url: URL, schema }))

/**
 * Helpers for the MySQL/MariaDB integration tests: every test file works in its own database of
 * the local MariaDB (created and dropped here).
 */
import { Effect, Schema, type Scope } from "effect"
import mysql from "mysql2/promise"
import type * as Connector from "../../../src/Connector.ts"
import { decodeAll } from "../../../src/internal/decode.ts"

/** The test server (root, no password). */
export const SERVER = process.env.DATAFLARE_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"

/** Runs statements on a short-lived connection to `url` (one after the other); the last one's rows. */
export const queryAt = async (url: string, ...statements: ReadonlyArray<string | readonly [string, ReadonlyArray<unknown>]>) => {
  const conn = await mysql.createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true })
  try {
    let last: unknown 
    for (const s of statements) {
      const [text, params] = typeof s === "string" ? [s, []] : s
      last = (await conn.query(text, params as Array<unknown>))[0]
    }
    return last as Array<{ [k: string]: unknown }>
  } finally {
    await conn.end()
  }
}

/** A fresh database on `server`, dropped when the scope closes; its URL. */
export const withDatabase = (prefix: string, server = SERVER): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const name = `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e9)}`
      await queryAt(server, `CREATE DATABASE \`${name}\``)
      return `${server}/${name}`
    }),
    (url) => Effect.promise(() => queryAt(server, `DROP DATABASE IF EXISTS \`${url.slice(url.lastIndexOf("/") + 1)}\``))
  )

/** `queryAt` as an Effect. */
export const sql = (url: string, ...statements: ReadonlyArray<string | readonly [string, ReadonlyArray<unknown>]>) =>
  Effect.promise(() => queryAt(url, ...statements))

/** Decodes a raw config with the definition's Schema (as the registry does), or dies. */
export const decode = <C>(schema: Schema.Decoder<C>, raw: unknown): C => {
  const r = decodeAll(schema, raw)
  if (!r.ok) throw new Error(JSON.stringify(r.issues))
  return r.value
}

/** An OpenContext for instance `instance` of `parallelism`. */
export const context = (node: string, batchSize = 1000, instance = 0, parallelism = 1, extra?: Partial<Connector.OpenContext>): Connector.OpenContext => ({
  node,
  batchSize,
  instance,
  parallelism,
  ...extra
})

/** Reads a source to its end, returning all records (the PostgreSQL tests' helper: one for both). */
export { readAll } from "../postgres/support.ts"

export { Schema }

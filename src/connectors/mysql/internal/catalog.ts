/**
 * What the MySQL connectors read from `information_schema`: a table's columns (in order, with
 * their types) and its keys.
 */
import type mysql from "mysql2"
import { run, splitName } from "./client.ts"

/** One column of a table. */
export interface Column {
  readonly name: string
  /** `DATA_TYPE` (`bigint`, `varchar`, `datetime`, ...). */
  readonly dataType: string
  /** `COLUMN_TYPE` (`bigint(20) unsigned`, `varchar(40)`, `enum('a','b')`, ...). */
  readonly columnType: string
  readonly nullable: boolean
}

/** A table's columns and keys (`columns` empty: no such table). */
export interface TableInfo {
  readonly columns: ReadonlyArray<Column>
  readonly primaryKey: ReadonlyArray<string>
  /** The primary key and every unique key, each as its columns in order. */
  readonly uniqueKeys: ReadonlyArray<ReadonlyArray<string>>
}

const COLUMNS_SQL = "SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable " +
  "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION"

const KEYS_SQL = "SELECT INDEX_NAME AS indexName, COLUMN_NAME AS name FROM information_schema.STATISTICS " +
  "WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX"

/** Reads a table's columns and keys. */
export const tableInfo = async (conn: mysql.Connection, table: string): Promise<TableInfo> => {
  const [db, name] = splitName(table)
  const rows = await run<Array<{ name: string; dataType: string; columnType: string; nullable: string }>>(conn, COLUMNS_SQL, [db ?? null, name])
  const keys = await run<Array<{ indexName: string; name: string }>>(conn, KEYS_SQL, [db ?? null, name])
  const byIndex = new Map<string, Array<string>>()
  for (const k of keys) {
    const list = byIndex.get(k.indexName) ?? []
    list.push(k.name)
    byIndex.set(k.indexName, list)
  }
  return {
    columns: rows.map((r) => ({
      name: r.name,
      dataType: String(r.dataType).toLowerCase(),
      columnType: String(r.columnType).toLowerCase(),
      nullable: r.nullable === "YES"
    })),
    primaryKey: byIndex.get("PRIMARY") ?? [],
    uniqueKeys: [...byIndex.values()]
  }
}

/** Whether a column holds integers (its ranges split evenly for a partitioned read). */
export const isInteger = (c: Column): boolean => /^(tinyint|smallint|mediumint|int|integer|bigint)$/u.test(c.dataType)

/**
 * Why the `mysql` sink cannot write `table` (`undefined`: it can): the table does not exist, a
 * `key` column is not one of its columns, or an upsert's key (`key`, default the primary key) is
 * neither its primary key nor a unique key (MySQL matches rows by unique keys). Checked by `check`
 * and again when the writer opens.
 */
export const targetProblem = (
  table: string,
  info: TableInfo,
  configKey: ReadonlyArray<string> | undefined,
  upsert: boolean
): string | undefined => {
  if (info.columns.length === 0) return `table '${table}' does not exist`
  const names = info.columns.map((c) => c.name)
  const missing = configKey?.find((k) => !names.includes(k))
  if (missing !== undefined) return `key column '${missing}' is not a column of table '${table}' (its columns: ${names.join(", ")})`
  if (!upsert) return undefined
  const key = configKey ?? info.primaryKey
  if (key.length === 0) return `mode: upsert needs 'key' or a primary key on '${table}'`
  const sorted = [...key].sort().join(",")
  if (info.uniqueKeys.some((u) => [...u].sort().join(",") === sorted)) return undefined
  return `mode: upsert needs key (${key.join(", ")}) to be the primary key or a unique key of '${table}' (MySQL matches rows by unique keys)`
}

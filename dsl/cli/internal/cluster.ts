/**
 * What the cluster commands (`runner`, `submit`, `status`) share: the `--cluster` and `--prefix`
 * flags, loading the cluster module lazily (effect/cluster and its PostgreSQL client load only
 * for these commands), and reporting a cluster error.
 */
import { Effect, Redacted } from "effect"
import { Flag } from "effect/cli"
import type { ClusterError } from "../../../src/cluster/Cluster.ts"
import { ExitCode, reportError } from "./exit.ts"

/** `--cluster <postgres url>`: the database of the cluster's runners, messages, parts and checkpoints. */
export const cluster = Flag.String("cluster").pipe(
  Flag.withDescription("The cluster's PostgreSQL database (postgres://user@host:port/db): runners, messages, parts and their checkpoints")
)

/** `--prefix`: the cluster's table prefix (several clusters can share a database). */
export const prefix = Flag.String("prefix").pipe(
  Flag.withDescription("Prefix of the cluster's tables (several clusters can share one database)"),
  Flag.withDefault("dataflare_cluster")
)

/** The cluster module, loaded on first use. */
export const clusterModule = Effect.promise(() => import("../../../src/cluster/Cluster.ts"))

/** The options every cluster call takes (the URL redacted: it may hold a password). */
export const options = (url: string, tablePrefix: string) => ({ url: Redacted.make(url), prefix: tablePrefix })

/** Prints a cluster error (it never holds the URL) and exits with `code`. */
export const reportClusterError = (code: number = ExitCode.failed) => (error: ClusterError) =>
  reportError(`${error.operation}${error.workflow !== undefined ? ` ${error.workflow}` : ""}: ${error.message}`, code)

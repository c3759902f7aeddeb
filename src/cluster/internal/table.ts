/**
 * The cluster's own table, `<prefix>_parts`: one row per part of a submitted workflow — its
 * status, the runner that holds it, its counts — written by the runners as parts start, checkpoint
 * and end, and read by `submit` (to follow a workflow) and `status`. The cluster's runners are
 * effect/cluster's own table, `<prefix>_runners`.
 */
import { Effect, type Scope } from "effect"
import pg from "pg"
import { ClusterError } from "./errors.ts"

/** A part's status. */
export type PartStatus = "submitted" | "running" | "done" | "failed" | "stopped"

/** Whether a part has ended (it runs no more). */
export const isEnded = (status: PartStatus): boolean => status === "done" || status === "failed" || status === "stopped"

/** One row of `<prefix>_parts`. */
export interface PartRow {
  readonly workflow: string
  readonly part: number
  readonly parts: number
  readonly status: PartStatus
  readonly runner: string | null
  /** Records read and written since the part's last start (a resumed part: since its checkpoint). */
  readonly recordsIn: number
  readonly recordsOut: number
  /** How many times the part started (more than 1: it moved, or its runner restarted it). */
  readonly attempts: number
  /** The part's last completed checkpoint (null: none yet). */
  readonly checkpoint: number | null
  /** The checkpoint the part's last start resumed from (null: it started from the beginning). */
  readonly resumedFrom: number | null
  readonly message: string | null
}

/** A runner as effect/cluster registers it. */
export interface RunnerRow {
  readonly address: string
  readonly healthy: boolean
  readonly lastHeartbeat: Date
}

/** The queries on the cluster's tables. */
export interface Table {
  readonly insertParts: (workflow: string, parts: number) => Effect.Effect<void, ClusterError>
  readonly started: (workflow: string, part: number, runner: string) => Effect.Effect<void, ClusterError>
  readonly progress: (workflow: string, part: number, recordsIn: number, recordsOut: number) => Effect.Effect<void, ClusterError>
  readonly checkpointed: (workflow: string, part: number, checkpoint: number) => Effect.Effect<void, ClusterError>
  readonly ended: (
    workflow: string,
    part: number,
    status: "done" | "failed" | "stopped",
    counts: { readonly recordsIn: number; readonly recordsOut: number; readonly resumedFrom: number | null } | undefined,
    message: string | null
  ) => Effect.Effect<void, ClusterError>
  /** Asks the parts of a workflow that have not ended to stop; how many were asked. */
  readonly requestStop: (workflow: string) => Effect.Effect<number, ClusterError>
  readonly stopRequested: (workflow: string, part: number) => Effect.Effect<boolean, ClusterError>
  readonly parts: (workflow?: string) => Effect.Effect<ReadonlyArray<PartRow>, ClusterError>
  readonly runners: Effect.Effect<ReadonlyArray<RunnerRow>, ClusterError>
}

/** A table name in the connection's search path, quoted. */
const quoted = (prefix: string, name: string) => pg.escapeIdentifier(`${prefix}_${name}`)

/** Opens a pool on the cluster's database and creates `<prefix>_parts` if missing. */
export const open = (url: string, prefix: string): Effect.Effect<Table, ClusterError, Scope.Scope> =>
  Effect.gen(function*() {
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => new pg.Pool({ connectionString: url, max: 2 })),
      (p) => Effect.promise(() => p.end().catch(() => undefined))
    )
    // a pool's idle client that loses its server emits `error`: without a listener it would kill the process
    pool.on("error", () => undefined)
    const query = (operation: string, text: string, values: ReadonlyArray<unknown> = [], workflow?: string) =>
      Effect.tryPromise({
        try: () => pool.query(text, [...values]),
        catch: (e) =>
          new ClusterError({
            operation,
            ...(workflow !== undefined ? { workflow } : {}),
            message: `PostgreSQL: ${e instanceof Error ? e.message : String(e)}`
          })
      })
    const parts = quoted(prefix, "parts")
    const runners = quoted(prefix, "runners")
    yield* query(
      "create",
      `CREATE TABLE IF NOT EXISTS ${parts} (
        workflow text NOT NULL, part int NOT NULL, parts int NOT NULL, status text NOT NULL,
        runner text, records_in bigint NOT NULL DEFAULT 0, records_out bigint NOT NULL DEFAULT 0,
        attempts int NOT NULL DEFAULT 0, checkpoint bigint, resumed_from bigint, stop_requested boolean NOT NULL DEFAULT false, message text, updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workflow, part))`
    ).pipe(
      // two processes creating the table at once: the loser's error is a duplicate type
      Effect.catch(() => query("create", `SELECT 1 FROM ${parts} LIMIT 0`))
    )
    return {
      insertParts: (workflow, n) =>
        Effect.gen(function*() {
          const existing = yield* query("submit", `SELECT count(*)::int AS n FROM ${parts} WHERE workflow = $1`, [workflow], workflow)
          if ((existing.rows[0] as { n: number }).n > 0) {
            return yield* new ClusterError({
              operation: "submit",
              workflow,
              message: `a workflow named '${workflow}' was already submitted to this cluster (see \`dataflare status\`); rename it to run it again`
            })
          }
          yield* query(
            "submit",
            `INSERT INTO ${parts} (workflow, part, parts, status) SELECT $1, i, $2, 'submitted' FROM generate_series(0, $2 - 1) AS i`,
            [workflow, n],
            workflow
          )
        }),
      started: (workflow, part, runner) =>
        Effect.asVoid(query(
          "start",
          `UPDATE ${parts} SET status = 'running', runner = $3, attempts = attempts + 1, updated_at = now() WHERE workflow = $1 AND part = $2`,
          [workflow, part, runner],
          workflow
        )),
      progress: (workflow, part, recordsIn, recordsOut) =>
        Effect.asVoid(query(
          "progress",
          `UPDATE ${parts} SET records_in = $3, records_out = $4, updated_at = now() WHERE workflow = $1 AND part = $2`,
          [workflow, part, recordsIn, recordsOut],
          workflow
        )),
      checkpointed: (workflow, part, checkpoint) =>
        Effect.asVoid(query(
          "checkpoint",
          `UPDATE ${parts} SET checkpoint = $3, updated_at = now() WHERE workflow = $1 AND part = $2`,
          [workflow, part, checkpoint],
          workflow
        )),
      ended: (workflow, part, status, counts, message) =>
        Effect.asVoid(
          counts === undefined
            ? query(
              "end",
              `UPDATE ${parts} SET status = $3, message = $4, updated_at = now() WHERE workflow = $1 AND part = $2`,
              [workflow, part, status, message],
              workflow
            )
            : query(
              "end",
              `UPDATE ${parts} SET status = $3, records_in = $4, records_out = $5, resumed_from = $6, message = $7, updated_at = now()
               WHERE workflow = $1 AND part = $2`,
              [workflow, part, status, counts.recordsIn, counts.recordsOut, counts.resumedFrom, message],
              workflow
            )
        ),
      requestStop: (workflow) =>
        Effect.map(
          query(
            "stop",
            `UPDATE ${parts} SET stop_requested = true, updated_at = now() WHERE workflow = $1 AND status IN ('submitted', 'running')`,
            [workflow],
            workflow
          ),
          (result) => result.rowCount ?? 0
        ),
      stopRequested: (workflow, part) =>
        Effect.map(
          query("stop", `SELECT stop_requested FROM ${parts} WHERE workflow = $1 AND part = $2`, [workflow, part], workflow),
          (result) => (result.rows[0] as { stop_requested?: boolean } | undefined)?.stop_requested === true
        ),
      parts: (workflow) =>
        Effect.map(
          query(
            "status",
            `SELECT workflow, part, parts, status, runner, records_in, records_out, attempts, checkpoint, resumed_from, message FROM ${parts}
             WHERE $1::text IS NULL OR workflow = $1 ORDER BY workflow, part`,
            [workflow ?? null],
            workflow
          ),
          (result) =>
            result.rows.map((r: Record<string, unknown>): PartRow => ({
              workflow: String(r.workflow),
              part: Number(r.part),
              parts: Number(r.parts),
              status: String(r.status) as PartStatus,
              runner: r.runner === null ? null : String(r.runner),
              recordsIn: Number(r.records_in),
              recordsOut: Number(r.records_out),
              attempts: Number(r.attempts),
              checkpoint: r.checkpoint === null ? null : Number(r.checkpoint),
              resumedFrom: r.resumed_from === null ? null : Number(r.resumed_from),
              message: r.message === null ? null : String(r.message)
            }))
        ),
      runners: Effect.map(
        query("status", `SELECT address, healthy, last_heartbeat FROM ${runners} ORDER BY address`).pipe(
          // no runner ever started: the table does not exist yet
          Effect.catch(() => Effect.succeed({ rows: [] as Array<Record<string, unknown>> }))
        ),
        (result) =>
          result.rows.map((r: Record<string, unknown>): RunnerRow => ({
            address: String(r.address),
            healthy: Boolean(r.healthy),
            lastHeartbeat: r.last_heartbeat instanceof Date ? r.last_heartbeat : new Date(String(r.last_heartbeat))
          }))
      )
    }
  })

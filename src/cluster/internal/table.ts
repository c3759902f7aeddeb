/**
 * The cluster's own table, `<prefix>_parts`: one row per part of a submitted workflow — its
 * status, the runner that holds it, its counts — written by the runners as parts start, checkpoint
 * and end, and read by `submit` (to follow a workflow) and `status`. The cluster's runners are
 * effect/cluster's own table, `<prefix>_runners`.
 */
import { Effect, type Scope } from "effect"
import pg from "pg"
import { ClusterError } from "./errors.ts"
import { createTableSql, currentTableSql } from "./exchange.ts"

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
  /** What the part does in a keyed workflow (`stage 1: range 0 of 3 → exchange`, `stage 2: key groups 0-42`); null otherwise. */
  readonly role: string | null
}

/** A part to send: which submission of its workflow (0 the first, counted up at each resubmission). */
export interface Submission {
  readonly workflow: string
  readonly part: number
  readonly parts: number
  readonly submission: number
}

/** A runner as effect/cluster registers it. */
export interface RunnerRow {
  readonly address: string
  readonly healthy: boolean
  readonly lastHeartbeat: Date
}

/** The queries on the cluster's tables. */
export interface Table {
  /**
   * Records the parts of workflows about to be submitted and returns the parts to send: every
   * part of a new workflow; the parts not done of a workflow submitted before whose parts have
   * all ended (stopped or failed: it resumes), with their submission counted up. Refuses a
   * workflow still running, one that ran to its end, or one resubmitted in another number of parts.
   */
  readonly insertParts: (workflows: ReadonlyArray<{ readonly workflow: string; readonly parts: number }>) => Effect.Effect<ReadonlyArray<Submission>, ClusterError>
  readonly started: (workflow: string, part: number, runner: string, role: string | null) => Effect.Effect<void, ClusterError>
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
  /** Creates the keyed exchange's table, `<prefix>_exchange`, when missing (see exchange.ts). */
  readonly ensureExchange: Effect.Effect<void, ClusterError>
  /** Deletes a workflow's exchange rows of edge `edge` and key groups `[first, last]` (their consumer is done). */
  readonly clearExchange: (workflow: string, edge: number, groups: readonly [number, number]) => Effect.Effect<void, ClusterError>
  /** Records the shards a runner holds (`<prefix>_shards`), for {@link Table.shardOwners}. */
  readonly publishShards: (runner: string, shards: ReadonlyArray<number>) => Effect.Effect<void, ClusterError>
  /** Which live runner holds each shard, as the runners last published it (rows of the last 10 s). */
  readonly shardOwners: Effect.Effect<ReadonlyMap<number, string>, ClusterError>
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
    const shards = quoted(prefix, "shards")
    yield* query(
      "create",
      `CREATE TABLE IF NOT EXISTS ${parts} (
        workflow text NOT NULL, part int NOT NULL, parts int NOT NULL, status text NOT NULL,
        runner text, records_in bigint NOT NULL DEFAULT 0, records_out bigint NOT NULL DEFAULT 0,
        attempts int NOT NULL DEFAULT 0, submission int NOT NULL DEFAULT 0, checkpoint bigint, resumed_from bigint, stop_requested boolean NOT NULL DEFAULT false, message text, updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workflow, part))`
    ).pipe(
      // two processes creating the table at once: the loser's error is a duplicate type
      Effect.catch(() => query("create", `SELECT 1 FROM ${parts} LIMIT 0`))
    )
    yield* query("create", `CREATE TABLE IF NOT EXISTS ${shards} (runner text PRIMARY KEY, shards int[] NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`).pipe(
      Effect.catch(() => query("create", `SELECT 1 FROM ${shards} LIMIT 0`))
    )
    // (added by the second slice: tables created by the first lack it)
    yield* query("create", `SELECT submission FROM ${parts} LIMIT 0`).pipe(
      Effect.catch(() => query("create", `ALTER TABLE ${parts} ADD COLUMN IF NOT EXISTS submission int NOT NULL DEFAULT 0`))
    )
    const exchange = quoted(prefix, "exchange")
    // (added for keyed workflows: tables created before lack it)
    yield* query("create", `SELECT role FROM ${parts} LIMIT 0`).pipe(
      Effect.catch(() => query("create", `ALTER TABLE ${parts} ADD COLUMN IF NOT EXISTS role text`))
    )
    return {
      // (a table made by an earlier version lacks columns: creating it adds them)
      ensureExchange: query("exchange", currentTableSql(prefix)).pipe(
        Effect.catch(() => query("exchange", createTableSql(prefix))),
        // two parts creating it at once: the loser's error is a duplicate type
        Effect.catch(() => query("exchange", currentTableSql(prefix))),
        Effect.asVoid
      ),
      clearExchange: (workflow, edge, groups) =>
        Effect.asVoid(
          query("exchange", `DELETE FROM ${exchange} WHERE workflow = $1 AND edge = $4 AND kg BETWEEN $2 AND $3`, [workflow, groups[0], groups[1], edge], workflow)
        ),
      insertParts: (workflows) =>
        Effect.gen(function*() {
          const names = workflows.map((w) => w.workflow)
          const existing = yield* query(
            "submit",
            `SELECT workflow, parts, array_agg(status) AS statuses FROM ${parts} WHERE workflow = ANY($1) GROUP BY workflow, parts`,
            [names]
          )
          const known = new Map(
            existing.rows.map((r: Record<string, unknown>) => [String(r.workflow), { parts: Number(r.parts), statuses: r.statuses as ReadonlyArray<PartStatus> }])
          )
          const send: Array<Submission> = []
          const fresh = workflows.filter((w) => !known.has(w.workflow))
          for (const w of workflows) {
            const before = known.get(w.workflow)
            if (before === undefined) continue
            const refuse = (message: string) => new ClusterError({ operation: "submit", workflow: w.workflow, message })
            if (!before.statuses.every(isEnded)) {
              return yield* refuse(`'${w.workflow}' is still running on this cluster (see \`dataflare status\`; \`dataflare stop\` stops it)`)
            }
            if (before.statuses.every((s) => s === "done")) {
              return yield* refuse(`a workflow named '${w.workflow}' already ran to its end on this cluster; rename it to run it again`)
            }
            if (before.parts !== w.parts) {
              return yield* refuse(`'${w.workflow}' was submitted in ${before.parts} parts: it resumes from their checkpoints in ${before.parts} parts, not ${w.parts}`)
            }
          }
          // a stopped (or failed) workflow resumes: its parts not done start again, from their checkpoints
          for (const w of workflows) {
            if (!known.has(w.workflow)) continue
            const resumed = yield* query(
              "submit",
              `UPDATE ${parts} SET status = 'submitted', stop_requested = false, submission = submission + 1, message = NULL, updated_at = now()
               WHERE workflow = $1 AND status IN ('stopped', 'failed') RETURNING part, submission`,
              [w.workflow],
              w.workflow
            )
            for (const r of resumed.rows as Array<{ part: number; submission: number }>) {
              send.push({ workflow: w.workflow, part: Number(r.part), parts: w.parts, submission: Number(r.submission) })
            }
          }
          if (fresh.length > 0) {
            yield* query(
              "submit",
              `INSERT INTO ${parts} (workflow, part, parts, status)
               SELECT w.workflow, i, w.parts, 'submitted' FROM unnest($1::text[], $2::int[]) AS w(workflow, parts), generate_series(0, w.parts - 1) AS i`,
              [fresh.map((w) => w.workflow), fresh.map((w) => w.parts)]
            )
            for (const w of fresh) for (let part = 0; part < w.parts; part++) send.push({ workflow: w.workflow, part, parts: w.parts, submission: 0 })
          }
          return send
        }),
      started: (workflow, part, runner, role) =>
        Effect.asVoid(query(
          "start",
          `UPDATE ${parts} SET status = 'running', runner = $3, role = $4, attempts = attempts + 1, updated_at = now() WHERE workflow = $1 AND part = $2`,
          [workflow, part, runner, role],
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
            `SELECT workflow, part, parts, status, runner, records_in, records_out, attempts, checkpoint, resumed_from, message, role FROM ${parts}
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
              message: r.message === null ? null : String(r.message),
              role: r.role === null || r.role === undefined ? null : String(r.role)
            }))
        ),
      publishShards: (runner, held) =>
        Effect.asVoid(query(
          "shards",
          held.length === 0
            ? `DELETE FROM ${shards} WHERE runner = $1`
            : `INSERT INTO ${shards} (runner, shards) VALUES ($1, $2) ON CONFLICT (runner) DO UPDATE SET shards = EXCLUDED.shards, updated_at = now()`,
          held.length === 0 ? [runner] : [runner, [...held]]
        )),
      shardOwners: Effect.map(
        query(
          "shards",
          // rows refreshed in the last 10 s (runners refresh theirs every 3 s), the freshest last: it wins a shard two rows claim
          `SELECT s.runner, s.shards FROM ${shards} s JOIN ${runners} r ON r.address = s.runner
           WHERE r.healthy AND s.updated_at > now() - interval '10 seconds' ORDER BY s.updated_at`
        ).pipe(
          // no runner ever started: the runners table does not exist yet
          Effect.catch(() => Effect.succeed({ rows: [] as Array<Record<string, unknown>> }))
        ),
        (result) => {
          const owners = new Map<number, string>()
          for (const r of result.rows as Array<{ runner: string; shards: ReadonlyArray<number> }>) {
            for (const shard of r.shards) owners.set(Number(shard), r.runner)
          }
          return owners
        }
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

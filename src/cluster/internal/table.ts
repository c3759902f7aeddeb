/**
 * The cluster's own tables: `<prefix>_parts`, one row per part of a submitted workflow — its
 * status, the runner that holds it, its counts, the last global checkpoint it acknowledged —
 * written by the runners as parts start, checkpoint and end, and read by `submit` (to follow a
 * workflow) and `status`; `<prefix>_workflows`, one row per workflow, the global checkpoints the
 * coordinator triggers and completes (coordinator.ts), and `<prefix>_coordinator`, where the
 * coordinator runs. The cluster's runners are effect/cluster's own table, `<prefix>_runners`.
 */
import { Effect, type Scope } from "effect"
import pg from "pg"
import * as Coordinator from "./coordinator.ts"
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
  /** The last global checkpoint (epoch) of its workflow the part acknowledged (0: none). */
  readonly ackedEpoch: number
  /** The part's own checkpoint that acknowledged {@link PartRow.ackedEpoch} (null: none). */
  readonly ackedCheckpoint: number | null
}

/** One row of `<prefix>_workflows`: the workflow's global checkpoints (see coordinator.ts). */
export interface WorkflowRow {
  readonly workflow: string
  /** How often the coordinator triggers a global checkpoint (the workflow's `checkpoint_interval`). */
  readonly intervalMs: number
  /** The last global checkpoint triggered (0: none yet). */
  readonly epoch: number
  /** The last global checkpoint every running part acknowledged (0: none yet). */
  readonly completed: number
  readonly completedAt: Date | null
}

/** Where the checkpoint coordinator runs, as it last wrote it (`<prefix>_coordinator`). */
export interface CoordinatorRow {
  readonly runner: string
  /** When it started on that runner. */
  readonly startedAt: Date
  /** Its last tick (every `TICK_MS` ms while it runs: coordinator.ts). */
  readonly heartbeat: Date
  /** Ticks since it started on that runner. */
  readonly ticks: number
}

/** What the stop-and-checkpoint poll of a running part reads. */
export interface PartControl {
  /** `dataflare stop` asked the part to stop. */
  readonly stop: boolean
  /** The workflow's last triggered global checkpoint. */
  readonly epoch: number
  /** The last one the part acknowledged. */
  readonly acked: number
}

/** What one tick of the coordinator changed: how many workflows completed a global checkpoint, how many started one. */
export interface TickResult {
  readonly completed: number
  readonly triggered: number
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
  readonly insertParts: (
    workflows: ReadonlyArray<{ readonly workflow: string; readonly parts: number; readonly intervalMs: number }>
  ) => Effect.Effect<ReadonlyArray<Submission>, ClusterError>
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
  /** A running part's one poll: whether it is asked to stop, and its workflow's global checkpoint. */
  readonly control: (workflow: string, part: number) => Effect.Effect<PartControl, ClusterError>
  /** Records that a part acknowledged global checkpoint `epoch` with its own checkpoint `checkpoint`. */
  readonly acked: (workflow: string, part: number, epoch: number, checkpoint: number) => Effect.Effect<void, ClusterError>
  /**
   * One tick of the coordinator, running on `runner` since `since`: completes the global checkpoint
   * of every workflow whose running parts all acknowledged it, triggers the next one of every
   * workflow with a running part whose interval has passed, and records the coordinator's heartbeat
   * (see coordinator.ts).
   */
  readonly tick: (runner: string, since: Date) => Effect.Effect<TickResult, ClusterError>
  readonly workflows: (workflow?: string) => Effect.Effect<ReadonlyArray<WorkflowRow>, ClusterError>
  readonly coordinator: Effect.Effect<CoordinatorRow | undefined, ClusterError>
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

/** A timestamp column's value as a Date. */
const dateOf = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)))

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
    const workflowsTable = quoted(prefix, "workflows")
    const coordinatorTable = quoted(prefix, "coordinator")
    // (added with the coordinator: tables created before lack them)
    yield* query("create", `SELECT acked_epoch, acked_checkpoint FROM ${parts} LIMIT 0`).pipe(
      Effect.catch(() =>
        query("create", `ALTER TABLE ${parts} ADD COLUMN IF NOT EXISTS acked_epoch bigint NOT NULL DEFAULT 0, ADD COLUMN IF NOT EXISTS acked_checkpoint bigint`)
      )
    )
    yield* query("create", Coordinator.createTablesSql(prefix)).pipe(
      Effect.catch(() => query("create", `SELECT 1 FROM ${workflowsTable}, ${coordinatorTable} LIMIT 0`))
    )
    const tickSql = Coordinator.tickSql(prefix)
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
          // a new workflow's global checkpoints; a resubmitted one continues its own (its interval as submitted now)
          yield* query(
            "submit",
            `INSERT INTO ${workflowsTable} (workflow, interval_ms) SELECT * FROM unnest($1::text[], $2::int[])
             ON CONFLICT (workflow) DO UPDATE SET interval_ms = EXCLUDED.interval_ms, triggered_at = now()`,
            [workflows.map((w) => w.workflow), workflows.map((w) => Math.max(1, Math.round(w.intervalMs)))]
          )
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
      control: (workflow, part) =>
        Effect.map(
          query(
            "control",
            `SELECT p.stop_requested, p.acked_epoch, coalesce(w.epoch, 0) AS epoch FROM ${parts} p LEFT JOIN ${workflowsTable} w ON w.workflow = p.workflow
             WHERE p.workflow = $1 AND p.part = $2`,
            [workflow, part],
            workflow
          ),
          (result): PartControl => {
            const r = result.rows[0] as { stop_requested: boolean; acked_epoch: string; epoch: string } | undefined
            return r === undefined ? { stop: false, epoch: 0, acked: 0 } : { stop: r.stop_requested, epoch: Number(r.epoch), acked: Number(r.acked_epoch) }
          }
        ),
      acked: (workflow, part, epoch, checkpoint) =>
        Effect.asVoid(query(
          "checkpoint",
          `UPDATE ${parts} SET acked_epoch = $3, acked_checkpoint = $4, updated_at = now() WHERE workflow = $1 AND part = $2 AND acked_epoch < $3`,
          [workflow, part, epoch, checkpoint],
          workflow
        )),
      tick: (runner, since) =>
        Effect.gen(function*() {
          const completed = yield* query("coordinate", tickSql.complete)
          const triggered = yield* query("coordinate", tickSql.trigger)
          yield* query("coordinate", tickSql.heartbeat, [runner, since])
          return { completed: completed.rowCount ?? 0, triggered: triggered.rowCount ?? 0 }
        }),
      workflows: (workflow) =>
        Effect.map(
          query(
            "status",
            `SELECT workflow, interval_ms, epoch, completed, completed_at FROM ${workflowsTable} WHERE $1::text IS NULL OR workflow = $1 ORDER BY workflow`,
            [workflow ?? null],
            workflow
          ),
          (result) =>
            result.rows.map((r: Record<string, unknown>): WorkflowRow => ({
              workflow: String(r.workflow),
              intervalMs: Number(r.interval_ms),
              epoch: Number(r.epoch),
              completed: Number(r.completed),
              completedAt: r.completed_at === null ? null : dateOf(r.completed_at)
            }))
        ),
      coordinator: Effect.map(
        query("status", `SELECT runner, started_at, heartbeat_at, ticks FROM ${coordinatorTable}`),
        (result) => {
          const r = result.rows[0] as Record<string, unknown> | undefined
          return r === undefined
            ? undefined
            : { runner: String(r.runner), startedAt: dateOf(r.started_at), heartbeat: dateOf(r.heartbeat_at), ticks: Number(r.ticks) }
        }
      ),
      parts: (workflow) =>
        Effect.map(
          query(
            "status",
            `SELECT workflow, part, parts, status, runner, records_in, records_out, attempts, checkpoint, resumed_from, message, role, acked_epoch, acked_checkpoint FROM ${parts}
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
              role: r.role === null || r.role === undefined ? null : String(r.role),
              ackedEpoch: Number(r.acked_epoch),
              ackedCheckpoint: r.acked_checkpoint === null ? null : Number(r.acked_checkpoint)
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
            lastHeartbeat: dateOf(r.last_heartbeat)
          }))
      )
    }
  })

/**
 * The checkpoint coordinator of the cluster: one cluster singleton (`effect/cluster/Singleton`,
 * `DataflareCoordinator`) for every workflow, running on exactly one runner and started on another
 * when that runner dies. It keeps no state of its own: everything is in PostgreSQL, so the runner
 * that takes it over continues from where the dead one was.
 *
 * Per workflow (`<prefix>_workflows`): `epoch`, the last global checkpoint triggered, `completed`,
 * the last one every running part acknowledged, and when the last was triggered; per part
 * (`<prefix>_parts`): `acked_epoch`, with the part's own checkpoint that acknowledged it. Every
 * {@link TICK_MS} ms the coordinator runs three set-based statements, whatever the number of
 * workflows ({@link tickSql}):
 *
 * 1. **complete**: a workflow whose running parts all acknowledged its `epoch` (parts that ended
 *    count as acknowledged: their final checkpoint covers everything) gets `completed = epoch`;
 * 2. **trigger**: a workflow with a running part, whose last global checkpoint completed and whose
 *    interval (its `checkpoint_interval`) has passed since it was triggered, gets `epoch + 1`;
 * 3. **heartbeat**: the coordinator's row (`<prefix>_coordinator`) gets its runner and the time.
 *
 * The parts poll their workflow's `epoch` with the stop request they already poll (one query:
 * part.ts), take a checkpoint of their own when it advances and record `acked_epoch`. While the
 * coordinator is down no global checkpoint starts; the parts keep running, and the exactly-once
 * sinks commit nothing new until it is back. Two coordinators ticking at once (a runner declared
 * dead that was not) do no harm: each statement's condition is re-checked on the row it updates,
 * so an epoch is triggered or completed once.
 */
import { Clock, Effect, type Scope } from "effect"
import * as Singleton from "effect/cluster/Singleton"
import pg from "pg"

/** How often the coordinator ticks. */
export const TICK_MS = 250

/** The singleton's name (one per cluster prefix: each prefix has its own sharding). */
export const SINGLETON = "DataflareCoordinator"

const quoted = (prefix: string, name: string) => pg.escapeIdentifier(`${prefix}_${name}`)

/** Creates `<prefix>_workflows` and `<prefix>_coordinator` when missing. */
export const createTablesSql = (prefix: string): string =>
  `CREATE TABLE IF NOT EXISTS ${quoted(prefix, "workflows")} (
    workflow text PRIMARY KEY, interval_ms int NOT NULL, epoch bigint NOT NULL DEFAULT 0, completed bigint NOT NULL DEFAULT 0,
    triggered_at timestamptz NOT NULL DEFAULT now(), completed_at timestamptz);
  CREATE TABLE IF NOT EXISTS ${quoted(prefix, "coordinator")} (
    name text PRIMARY KEY, runner text NOT NULL, started_at timestamptz NOT NULL, heartbeat_at timestamptz NOT NULL, ticks bigint NOT NULL);
  CREATE INDEX IF NOT EXISTS ${quoted(prefix, "parts_running")} ON ${quoted(prefix, "parts")} (workflow) WHERE status = 'running'`

/**
 * The three statements of a tick (see the module doc): `complete` and `trigger` return one row per
 * workflow they changed; `heartbeat` takes the runner (`$1`) and when the coordinator started there (`$2`).
 * Only running parts are looked at (an index on them): ended workflows cost nothing per tick.
 */
export const tickSql = (prefix: string) => {
  const workflows = quoted(prefix, "workflows")
  const parts = quoted(prefix, "parts")
  return {
    complete: `UPDATE ${workflows} w SET completed = w.epoch, completed_at = now()
      WHERE w.completed < w.epoch
        AND NOT EXISTS (SELECT 1 FROM ${parts} p WHERE p.workflow = w.workflow AND p.status = 'running' AND p.acked_epoch < w.epoch)
      RETURNING w.workflow`,
    trigger: `UPDATE ${workflows} w SET epoch = w.epoch + 1, triggered_at = now()
      FROM (SELECT DISTINCT workflow FROM ${parts} WHERE status = 'running') r
      WHERE r.workflow = w.workflow AND w.completed = w.epoch AND w.triggered_at + w.interval_ms * interval '1 millisecond' <= now()
      RETURNING w.workflow`,
    heartbeat: `INSERT INTO ${quoted(prefix, "coordinator")} (name, runner, started_at, heartbeat_at, ticks) VALUES ('${SINGLETON}', $1, $2, now(), 1)
      ON CONFLICT (name) DO UPDATE SET runner = EXCLUDED.runner, started_at = EXCLUDED.started_at, heartbeat_at = now(),
        ticks = CASE WHEN (${quoted(prefix, "coordinator")}.runner, ${quoted(prefix, "coordinator")}.started_at) = (EXCLUDED.runner, EXCLUDED.started_at) THEN ${quoted(prefix, "coordinator")}.ticks + 1 ELSE 1 END`
  }
}

/** What the coordinator needs of the cluster's tables (table.ts). */
export interface Ticker {
  readonly tick: (runner: string, since: Date) => Effect.Effect<unknown, unknown>
}

/**
 * The coordinator's loop on `runner`: its own connection (`open`), then a tick every
 * {@link TICK_MS} ms. A failed tick (the database unreachable for a moment) is skipped; the next
 * one tries again.
 */
export const coordinate = <E>(open: Effect.Effect<Ticker, E, Scope.Scope>, runner: string): Effect.Effect<never> =>
  Effect.scoped(Effect.gen(function*() {
    const ticker = yield* open
    const since = new Date(yield* Clock.currentTimeMillis)
    yield* Effect.logInfo(`checkpoint coordinator started on ${runner}`)
    return yield* Effect.forever(Effect.andThen(Effect.ignore(ticker.tick(runner, since)), Effect.sleep(TICK_MS)))
  })).pipe(
    // the database unreachable as it starts: try again
    Effect.catchCause(() => Effect.sleep(1000)),
    Effect.forever
  )

/** The coordinator as a cluster singleton of the runner at `runner`: it runs on one runner of the cluster at a time. */
export const layer = <E>(open: Effect.Effect<Ticker, E, Scope.Scope>, runner: string) => Singleton.make(SINGLETON, coordinate(open, runner))

/**
 * What the test setup checks (see `services.ts`): PostgreSQL's settings, probed with a real
 * connection and a replication connection, and which TCP ports of the other servers are closed;
 * and the decision to run `scripts/services.sh` and to stop the run.
 */
import { createConnection } from "node:net"
import pg from "pg"

/** What a probe of PostgreSQL found. */
export interface PostgresState {
  /** Why it could not be reached (absent: it answered). */
  readonly unreachable?: string
  readonly walLevel?: string
  readonly maxPreparedTransactions?: number
  /** Why a replication connection failed (absent: it worked). */
  readonly replicationRefused?: string
}

/** What must change before the tests can run against this PostgreSQL (empty: nothing). */
export const postgresProblems = (state: PostgresState): ReadonlyArray<string> => {
  if (state.unreachable !== undefined) return [`PostgreSQL does not answer on 127.0.0.1:5432 (${state.unreachable})`]
  const problems: Array<string> = []
  if (state.walLevel !== "logical") problems.push(`wal_level is '${state.walLevel ?? "?"}', the CDC tests need 'logical'`)
  if ((state.maxPreparedTransactions ?? 0) <= 0) {
    problems.push("max_prepared_transactions is 0, the sink's two_phase: prepared tests need it above 0")
  }
  if (state.replicationRefused !== undefined) {
    problems.push(`a replication connection from 127.0.0.1 is refused (${state.replicationRefused}); pg_hba.conf needs 'host replication all 127.0.0.1/32 trust'`)
  }
  return problems
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]

/** Probes the PostgreSQL at `url`: reachable, its settings, and a replication connection. */
export const probePostgres = async (url: string): Promise<PostgresState> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  client.on("error", () => {})
  let walLevel: string
  let maxPreparedTransactions: number
  try {
    await client.connect()
    const wal = await client.query<{ wal_level: string }>("SHOW wal_level")
    const prepared = await client.query<{ max_prepared_transactions: string }>("SHOW max_prepared_transactions")
    walLevel = wal.rows[0].wal_level
    maxPreparedTransactions = Number(prepared.rows[0].max_prepared_transactions)
  } catch (e) {
    return { unreachable: message(e) }
  } finally {
    await client.end().catch(() => {})
  }
  // `replication` is a connection parameter pg passes on, missing from @types/pg's ClientConfig
  const replicationConfig: pg.ClientConfig & { readonly replication: "database" } = {
    connectionString: url,
    connectionTimeoutMillis: 5_000,
    replication: "database"
  }
  const replication = new pg.Client(replicationConfig)
  replication.on("error", () => {})
  let replicationRefused: string | undefined
  try {
    await replication.connect()
    await replication.query("IDENTIFY_SYSTEM")
  } catch (e) {
    replicationRefused = message(e)
  } finally {
    await replication.end().catch(() => {})
  }
  return { walLevel, maxPreparedTransactions, ...(replicationRefused !== undefined ? { replicationRefused } : {}) }
}

/** The names of the servers whose port on 127.0.0.1 refuses a TCP connection. */
export const probeClosedPorts = async (ports: ReadonlyArray<readonly [string, number]>): Promise<ReadonlyArray<string>> => {
  const open = await Promise.all(ports.map(([, port]) =>
    new Promise<boolean>((done) => {
      const socket = createConnection({ host: "127.0.0.1", port })
      socket.setTimeout(2_000)
      socket.on("connect", () => {
        socket.destroy()
        done(true)
      })
      socket.on("timeout", () => {
        socket.destroy()
        done(false)
      })
      socket.on("error", () => done(false))
    })
  ))
  return ports.filter((_, i) => !open[i]).map(([name]) => name)
}

/** The command that sets the machine up, as root (it is what `.ci/run` runs first). */
export const SETUP_COMMAND = "bash scripts/services.sh"

/** How the setup finds things out and acts: real probes in `services.ts`, fakes in its test. */
export interface SetupOptions {
  readonly probePostgres: () => Promise<PostgresState>
  readonly probePorts: () => Promise<ReadonlyArray<string>>
  /** Runs `scripts/services.sh`; `true` when it exited 0. Absent: never run it. */
  readonly runSetup: (() => boolean) | undefined
  readonly log: (line: string) => void
}

/**
 * Checks the servers; when PostgreSQL is not ready or a server's port is closed, runs the setup
 * script once and checks PostgreSQL again. Fails (stopping the test run before any suite) when
 * PostgreSQL is still not ready, with what is wrong and {@link SETUP_COMMAND}. A broker that stays
 * down is only reported: the suites that need it say so themselves.
 */
export const ensureServices = async (options: SetupOptions): Promise<void> => {
  const problems = postgresProblems(await options.probePostgres())
  const closed = await options.probePorts()
  if (problems.length === 0 && closed.length === 0) return
  const why = [...problems, ...closed.map((name) => `${name} does not answer`)]
  if (options.runSetup !== undefined) {
    options.log(`${why.join("; ")}: running scripts/services.sh`)
    const ok = options.runSetup()
    if (!ok) options.log("scripts/services.sh failed")
  }
  const left = options.runSetup === undefined ? problems : postgresProblems(await options.probePostgres())
  if (left.length > 0) {
    throw new Error(
      `the test servers are not ready: ${left.join("; ")}. Run \`${SETUP_COMMAND}\` as root (it starts the servers and sets PostgreSQL up, restarting it when a setting changes), then run the tests again.`
    )
  }
  const stillClosed = options.runSetup === undefined ? closed : await options.probePorts()
  if (stillClosed.length > 0) options.log(`${stillClosed.join(", ")} still down: the tests that need them will fail (run \`${SETUP_COMMAND}\` as root)`)
}

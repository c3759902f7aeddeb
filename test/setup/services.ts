/**
 * Vitest global setup: before any suite runs, make sure the servers the tests need are there and
 * configured, so `npm test` passes on a fresh machine without a manual step.
 *
 * PostgreSQL must answer on 127.0.0.1:5432 with `wal_level = logical` and replication
 * connections allowed (the CDC tests), and `max_prepared_transactions > 0` (the sink's
 * `two_phase: prepared`). When it does not — or a broker port of `/work/shared/SERVICES.md` is
 * closed — `scripts/services.sh` is run once (it starts what is down and sets PostgreSQL up,
 * restarting it only when a setting changes), then PostgreSQL is checked again. If it is still not
 * ready the run stops at once, saying what is wrong and the exact command to run.
 * `DATAFLARE_SERVICE_SETUP=0` skips running the script (the check still stops the run);
 * `DATAFLARE_SERVICE_SETUP=off` skips the check too (suites that need a server then fail on their own).
 */
import { spawnSync } from "node:child_process"
import { resolve } from "node:path"
import { ensureServices, probeClosedPorts, probePostgres } from "./ready.ts"

const root = resolve(import.meta.dirname, "../..")

export default async function setup(): Promise<void> {
  if (process.env.DATAFLARE_SERVICE_SETUP === "off") return
  await ensureServices({
    probePostgres: () => probePostgres("postgres://postgres@127.0.0.1:5432/postgres"),
    probePorts: () => probeClosedPorts([["MariaDB", 3306], ["Redis", 6379], ["RabbitMQ", 5672], ["Mosquitto", 1883], ["NATS", 4222]]),
    runSetup: process.env.DATAFLARE_SERVICE_SETUP === "0"
      ? undefined
      : () => spawnSync("bash", [resolve(root, "scripts/services.sh")], { stdio: ["ignore", process.stderr, process.stderr] }).status === 0,
    log: (line) => process.stderr.write(`[test setup] ${line}\n`)
  })
}

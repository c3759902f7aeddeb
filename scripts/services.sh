#!/usr/bin/env bash
# Make sure the services the tests need are up (start them when they are down) and configured.
# Idempotent: safe to run on a machine where everything already runs.
set -euo pipefail

log() { printf '[services] %s\n' "$*"; }

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then log "$name is up"; return 0; fi
    sleep 1
  done
  log "$name did not answer in 60s"; return 1
}

# --- PostgreSQL (wal_level=logical and replication from 127.0.0.1 for CDC, prepared transactions) ---
if command -v pg_ctlcluster >/dev/null 2>&1; then
  v=$(ls /etc/postgresql | sort -n | tail -1)
  if ! pg_isready -h 127.0.0.1 -q; then
    log "starting PostgreSQL $v"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  fi
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -q
  hba="/etc/postgresql/$v/main/pg_hba.conf"
  if [ -w "$hba" ] && ! grep -Eq '^\s*host\s+replication\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    log "allowing replication connections in $hba"
    echo "host replication all 127.0.0.1/32 trust" >> "$hba"
    psql -h 127.0.0.1 -U postgres -qc "select pg_reload_conf()" >/dev/null
  fi
  # wal_level=logical for CDC; prepared transactions for the sink's two_phase: prepared; connections for the cluster tests
  restart=""
  if [ "$(psql -h 127.0.0.1 -U postgres -tAc 'show wal_level')" != logical ]; then
    log "setting wal_level=logical"
    psql -h 127.0.0.1 -U postgres -qc "ALTER SYSTEM SET wal_level = logical"
    restart=1
  fi
  if [ "$(psql -h 127.0.0.1 -U postgres -tAc 'show max_prepared_transactions')" = 0 ]; then
    log "setting max_prepared_transactions=20"
    psql -h 127.0.0.1 -U postgres -qc "ALTER SYSTEM SET max_prepared_transactions = 20"
    restart=1
  fi
  # the cluster tests' runners hold ~40 sessions at once (a part's sink, state and shard locks)
  if [ "$(psql -h 127.0.0.1 -U postgres -tAc 'show max_connections')" -lt 200 ]; then
    log "setting max_connections=200"
    psql -h 127.0.0.1 -U postgres -qc "ALTER SYSTEM SET max_connections = 200"
    restart=1
  fi
  if [ -n "$restart" ]; then
    log "restarting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$v" main restart
    wait_for PostgreSQL pg_isready -h 127.0.0.1 -q
  fi
else
  log "PostgreSQL is not installed here; the PostgreSQL tests will fail"
fi

# --- the brokers and MariaDB the connector tests use (start each when it does not answer) ---
as_root_start() { # name, readiness command (quoted), start command...
  local name=$1 check=$2; shift 2
  if bash -c "$check" >/dev/null 2>&1; then return 0; fi
  if ! command -v "$1" >/dev/null 2>&1; then log "$name is not installed here; its tests will fail"; return 0; fi
  log "starting $name"
  "$@" >/dev/null 2>&1 || true
  wait_for "$name" bash -c "$check"
}
as_root_start MariaDB "mariadb-admin ping" \
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
as_root_start Redis "redis-cli -h 127.0.0.1 ping | grep -q PONG" \
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
as_root_start RabbitMQ "(exec 3<>/dev/tcp/127.0.0.1/5672)" rabbitmq-server -detached
as_root_start Mosquitto "(exec 3<>/dev/tcp/127.0.0.1/1883)" mosquitto -d -c /etc/mosquitto/mosquitto.conf
as_root_start NATS "(exec 3<>/dev/tcp/127.0.0.1/4222)" \
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log

# --- tools the observability tests drive: tmux (dataflare top) and Debian's chromium (the dashboard) ---
missing=""
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    log "missing$missing: the observability tests will fail (as root: apt-get install -y$missing)"
  fi
fi

#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benches: its own directory, 127.0.0.1 and a free port,
# a password login, nothing shared with a system cluster. Installs Debian's server package when missing.
#
#   scripts/postgres.sh start DIR    initdb into DIR/data (once), start, print an Npgsql connection string
#   scripts/postgres.sh stop DIR     stop the cluster in DIR (fast shutdown); DIR is left for the caller
#   scripts/postgres.sh kill DIR     SIGKILL the postmaster (a crash, for chaos tests)
#
# As root the server runs as the `postgres` user the package creates (PostgreSQL refuses to run as
# root). The cluster trades durability against an operating-system crash for speed (fsync off), but
# every commit is in the WAL before it returns (synchronous_commit stays on), so a killed server
# recovers every committed row: the crash the tests exercise.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

usage() {
  echo "usage: $0 start|stop|kill DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
command="$1"
dir="$2"

bindir() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$found" ] || [ ! -x "$found/initdb" ]; then
    # shellcheck source=prereqs.sh
    source "$here/prereqs.sh"
    ensure_commands /usr/lib/postgresql/15/bin/initdb:postgresql-15 >&2
    found=/usr/lib/postgresql/15/bin
  fi
  echo "$found"
}

# Runs a server binary as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "error: no free port found on 127.0.0.1" >&2
  return 1
}

start() {
  local bin data port password
  bin=$(bindir)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  data="$dir/data"
  if [ ! -f "$data/PG_VERSION" ]; then
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    chmod 755 "$dir"
    mkdir -p "$data"
    printf '%s\n' "$password" > "$dir/password"
    chmod 600 "$dir/password"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$data" "$dir/password"
      runuser -u postgres -- test -r "$dir/password" ||
        { echo "error: the postgres user cannot reach $dir (a parent directory is not searchable)" >&2; return 1; }
    fi
    as_owner "$bin/initdb" -D "$data" -U openconnect --pwfile="$dir/password" --auth=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { echo "error: initdb failed; see $dir/initdb.log" >&2; tail -5 "$dir/initdb.log" >&2; return 1; }
    free_port > "$dir/port"
  fi
  password=$(cat "$dir/password")
  local attempt
  for attempt in 1 2 3 4 5; do
    port=$(cat "$dir/port")
    if as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      break
    fi
    local before=0
    [ -f "$data/server.log" ] && before=$(wc -l < "$data/server.log")
    if as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start -o \
      "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$data' -c max_connections=300 -c shared_buffers=64MB -c fsync=off -c full_page_writes=off" >/dev/null; then
      break
    fi
    # Another process took the port between the check and the bind: a fresh cluster takes another.
    if [ "$attempt" -lt 5 ] && [ ! -f "$dir/started" ] && tail -n +"$((before + 1))" "$data/server.log" | grep -q "Address already in use"; then
      free_port > "$dir/port"
      continue
    fi
    echo "error: PostgreSQL did not start; see $data/server.log" >&2
    tail -5 "$data/server.log" >&2
    return 1
  done
  # From now on the port is the cluster's: a restart keeps it (connection strings stay valid).
  touch "$dir/started"
  echo "Host=127.0.0.1;Port=$port;Username=openconnect;Password=$password;Database=postgres"
}

stop() {
  local bin
  [ -f "$dir/data/PG_VERSION" ] || return 0
  bin=$(bindir)
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

kill_server() {
  local pid
  [ -f "$dir/data/postmaster.pid" ] || return 0
  pid=$(head -1 "$dir/data/postmaster.pid")
  kill -9 "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

case "$command" in
  start) start ;;
  stop) stop ;;
  kill) kill_server ;;
  *) usage ;;
esac

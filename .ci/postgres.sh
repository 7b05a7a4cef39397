#!/usr/bin/env bash
# A throwaway PostgreSQL for `make test-pg` and CI: never a server to keep data in.
#
#   .ci/postgres.sh start   # install if missing (as root), initdb into a temporary folder,
#                           # listen on 127.0.0.1:$PG_TEST_PORT only, create user and database
#   .ci/postgres.sh url     # the URL of its database (what make test-pg uses by default)
#   .ci/postgres.sh stop    # stop the server by its PID and delete the folder
#
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
# Durability is off (fsync, full_page_writes): the data is thrown away anyway.
set -euo pipefail

# Below 32768, out of the range the kernel gives outgoing connections their local ports
# from (32768-60999 on Linux): a port in it can be held by any client of the moment, as
# one was when CI started the server right after a suite ("Address already in use").
PORT="${PG_TEST_PORT:-25432}"
STATE="${TMPDIR:-/tmp}/www-test-postgres-$PORT"  # holds the path of the data folder
USER_NAME=www
PASSWORD=www
DATABASE=www_test
URL="postgresql://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/$DATABASE"

say() { echo "postgres.sh: $*" >&2; }

bindir() {  # the newest installed server's binaries
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    elif command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
    fi
}

install_server() {
    if [ -n "$(bindir)" ]; then
        return
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        say "no PostgreSQL server found; as root: apt-get update && apt-get install -y postgresql"
        exit 1
    fi
    say "installing PostgreSQL (apt-get install postgresql)..."
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
}

as_owner() {  # run a server binary as its owner: `postgres` when we are root
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    if [ -f "$STATE" ] && [ -f "$(cat "$STATE")/data/postmaster.pid" ]; then
        say "already running on port $PORT ($(cat "$STATE"))"
        echo "$URL"
        return
    fi
    install_server
    local bin folder
    bin="$(bindir)"
    folder="$(mktemp -d "${TMPDIR:-/tmp}/www-postgres.XXXXXX")"
    chmod 755 "$folder"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$folder"
    fi
    echo "$folder" >"$STATE"
    as_owner "$bin/initdb" -D "$folder/data" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >"$folder/initdb.log"
    # Only this machine: TCP on 127.0.0.1, and a Unix socket inside the folder for set-up.
    as_owner "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 start -o \
        "-c listen_addresses=127.0.0.1 -p $PORT -k $folder -c max_connections=200 \
         -c fsync=off -c full_page_writes=off -c synchronous_commit=off" >/dev/null \
        || { say "the server did not start; its log:"; cat "$folder/server.log" >&2; exit 1; }
    as_owner "$bin/psql" -q -h "$folder" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE $USER_NAME LOGIN PASSWORD '$PASSWORD'" \
        -c "CREATE DATABASE $DATABASE OWNER $USER_NAME"
    say "running on 127.0.0.1:$PORT (data in $folder)"
    echo "$URL"
}

stop() {
    if [ ! -f "$STATE" ]; then
        say "not running (no $STATE)"
        return
    fi
    local folder pid
    folder="$(cat "$STATE")"
    if [ -f "$folder/data/postmaster.pid" ]; then
        pid="$(head -n 1 "$folder/data/postmaster.pid")"
        kill -INT "$pid" 2>/dev/null || true  # "fast" shutdown: clients are disconnected
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "PID $pid did not stop; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    case "$folder" in  # only ever delete a folder this script made
        "${TMPDIR:-/tmp}"/www-postgres.*) rm -rf "$folder" ;;
    esac
    rm -f "$STATE"
    say "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "$URL" ;;
    *)
        echo "usage: $0 start|stop|url" >&2
        exit 2
        ;;
esac

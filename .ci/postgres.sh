#!/usr/bin/env bash
# A throwaway PostgreSQL server for Casebook's tests, on 127.0.0.1:5433 in a temporary folder.
#
#   source .ci/postgres.sh; postgres_start    # installs, starts, exports CASEBOOK_TEST_POSTGRES_URL
#   ...                                       # swift test
#   postgres_stop                             # stops the server and removes its folder
#
# Run directly (`bash .ci/postgres.sh start|stop`), it prints the `export` line to use.
# As root, the server runs as the `postgres` user (initdb refuses root). Nothing outside the
# temporary folder is touched except the apt packages.
CASEBOOK_PG_PORT="${CASEBOOK_PG_PORT:-5433}"
CASEBOOK_PG_STATE="${CASEBOOK_PG_STATE:-/tmp/casebook-postgres.state}"
# The test role's password: the tests check that a wrong one is refused (scram-sha-256 over TCP).
CASEBOOK_PG_PASSWORD="${CASEBOOK_PG_PASSWORD:-casebook-test}"

_pg_as_owner() {
    # Runs a command as the server's owner (the `postgres` user when we are root).
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

postgres_install() {
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # Explicitly, even where the machine happens to have them: CI starts from nothing.
        apt-get install -y -qq --no-install-recommends postgresql libpq-dev >/dev/null
    fi
}

postgres_start() {
    postgres_install
    local bindir
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        echo "postgres.sh: no initdb under /usr/lib/postgresql/*/bin (is the postgresql package installed?)" >&2
        return 1
    fi
    if [ -f "$CASEBOOK_PG_STATE" ]; then postgres_stop || true; fi
    local dir
    dir="$(mktemp -d /tmp/casebook-pg.XXXXXX)"
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    local pwfile="$dir/pw"
    printf '%s\n' "$CASEBOOK_PG_PASSWORD" > "$pwfile"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$pwfile"; fi
    chmod 600 "$pwfile"
    _pg_as_owner "$bindir/initdb" -D "$dir/data" -U casebook --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    rm -f "$pwfile"
    _pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $CASEBOOK_PG_PORT -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
    printf 'bindir=%q\ndir=%q\n' "$bindir" "$dir" > "$CASEBOOK_PG_STATE"
    for db in casebook_test casebook_piwheels_test; do
        _pg_as_owner "$bindir/psql" -h "$dir" -p "$CASEBOOK_PG_PORT" -U casebook -d postgres -qAt \
            -c "CREATE DATABASE $db OWNER casebook" >/dev/null
    done
    export CASEBOOK_TEST_POSTGRES_URL="postgres://casebook:$CASEBOOK_PG_PASSWORD@127.0.0.1:$CASEBOOK_PG_PORT/casebook_test"
    export CASEBOOK_TEST_POSTGRES_PIWHEELS_URL="postgres://casebook:$CASEBOOK_PG_PASSWORD@127.0.0.1:$CASEBOOK_PG_PORT/casebook_piwheels_test"
    echo "export CASEBOOK_TEST_POSTGRES_URL=$CASEBOOK_TEST_POSTGRES_URL"
    echo "export CASEBOOK_TEST_POSTGRES_PIWHEELS_URL=$CASEBOOK_TEST_POSTGRES_PIWHEELS_URL"
}

postgres_stop() {
    [ -f "$CASEBOOK_PG_STATE" ] || return 0
    local bindir dir
    # shellcheck disable=SC1090
    source "$CASEBOOK_PG_STATE"
    if [ -n "${dir:-}" ] && [ -d "$dir/data" ]; then
        _pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    case "${dir:-}" in /tmp/casebook-pg.*) rm -rf "$dir" ;; esac
    rm -f "$CASEBOOK_PG_STATE"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-start}" in
        start) postgres_start ;;
        stop) postgres_stop ;;
        *) echo "usage: bash .ci/postgres.sh start|stop" >&2; exit 2 ;;
    esac
fi

#!/usr/bin/env bash
# A throwaway ClickHouse server for Casebook's tests, on 127.0.0.1 (HTTP 8124, native 9124) in a
# temporary folder.
#
#   source .ci/clickhouse.sh; clickhouse_start   # installs, starts, exports CASEBOOK_TEST_CLICKHOUSE_URL
#   ...                                          # swift test
#   clickhouse_stop                              # stops the server and removes its folder
#
# Run directly (`bash .ci/clickhouse.sh start|stop`), it prints the `export` line to use.
# Debian 12 ships ClickHouse 18.16 (`clickhouse-server`, `clickhouse-client`). The server runs
# with a small configuration of its own (ports, data folder, users) written into the temporary
# folder; nothing outside it is touched except the apt packages. The test user has a password,
# so that the tests can check that a wrong one is refused.
CASEBOOK_CH_HTTP_PORT="${CASEBOOK_CH_HTTP_PORT:-8124}"
CASEBOOK_CH_TCP_PORT="${CASEBOOK_CH_TCP_PORT:-9124}"
CASEBOOK_CH_STATE="${CASEBOOK_CH_STATE:-/tmp/casebook-clickhouse.state}"
CASEBOOK_CH_USER="${CASEBOOK_CH_USER:-casebook}"
CASEBOOK_CH_PASSWORD="${CASEBOOK_CH_PASSWORD:-casebook-test}"

_ch_client() {
    clickhouse-client --host 127.0.0.1 --port "$CASEBOOK_CH_TCP_PORT" \
        --user "$CASEBOOK_CH_USER" --password "$CASEBOOK_CH_PASSWORD" "$@"
}

clickhouse_install() {
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # Explicitly, even where the machine happens to have them: CI starts from nothing.
        apt-get install -y -qq --no-install-recommends clickhouse-server clickhouse-client >/dev/null
    fi
}

clickhouse_start() {
    clickhouse_install
    local tool
    for tool in clickhouse-server clickhouse-client; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "clickhouse.sh: no $tool on PATH (is the $tool package installed?)" >&2
            return 1
        fi
    done
    if [ -f "$CASEBOOK_CH_STATE" ]; then clickhouse_stop || true; fi
    # A server already on these ports (another run's) would answer the readiness check below in
    # this one's place: refuse to start (bash's /dev/tcp, no other tool).
    local port
    for port in "$CASEBOOK_CH_HTTP_PORT" "$CASEBOOK_CH_TCP_PORT"; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "clickhouse.sh: 127.0.0.1:$port is already in use (another ClickHouse server?); stop it, or set CASEBOOK_CH_HTTP_PORT and CASEBOOK_CH_TCP_PORT" >&2
            return 1
        fi
    done
    local dir
    dir="$(mktemp -d /tmp/casebook-ch.XXXXXX)"
    mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
    cat > "$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/server.log</log>
        <errorlog>$dir/server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <http_port>$CASEBOOK_CH_HTTP_PORT</http_port>
    <tcp_port>$CASEBOOK_CH_TCP_PORT</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>50</max_concurrent_queries>
    <timezone>UTC</timezone>
</yandex>
EOF
    cat > "$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
        </default>
    </profiles>
    <users>
        <$CASEBOOK_CH_USER>
            <password>$CASEBOOK_CH_PASSWORD</password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </$CASEBOOK_CH_USER>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
    chmod 600 "$dir/users.xml"
    (cd "$dir" && exec clickhouse-server --config-file="$dir/config.xml" --pid-file="$dir/server.pid" \
        >"$dir/stdout.log" 2>&1 </dev/null) &
    local pid=$!
    printf 'dir=%q\npid=%q\n' "$dir" "$pid" > "$CASEBOOK_CH_STATE"
    # Ready when the test user can run a query (over the native port, with the client installed
    # above: no curl needed). The password on the command line is the throwaway test one.
    local i
    for i in $(seq 1 120); do
        if _ch_client --query "SELECT 1" >/dev/null 2>&1; then break; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "clickhouse.sh: the server exited; its log:" >&2
            tail -n 30 "$dir/server.err.log" "$dir/stdout.log" >&2 2>/dev/null
            return 1
        fi
        sleep 0.5
    done
    if ! _ch_client --query "SELECT 1" >/dev/null 2>"$dir/client.err"; then
        echo "clickhouse.sh: the server did not answer on 127.0.0.1:$CASEBOOK_CH_TCP_PORT within 60 s:" >&2
        cat "$dir/client.err" >&2
        tail -n 30 "$dir/server.err.log" >&2 2>/dev/null
        return 1
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "clickhouse.sh: the server exited; its log:" >&2
        tail -n 30 "$dir/server.err.log" "$dir/stdout.log" >&2 2>/dev/null
        return 1
    fi
    _ch_client --query "CREATE DATABASE IF NOT EXISTS casebook_test"
    export CASEBOOK_TEST_CLICKHOUSE_URL="clickhouse://$CASEBOOK_CH_USER:$CASEBOOK_CH_PASSWORD@127.0.0.1:$CASEBOOK_CH_HTTP_PORT/casebook_test"
    echo "export CASEBOOK_TEST_CLICKHOUSE_URL=$CASEBOOK_TEST_CLICKHOUSE_URL"
}

clickhouse_stop() {
    [ -f "$CASEBOOK_CH_STATE" ] || return 0
    local dir pid
    # shellcheck disable=SC1090
    source "$CASEBOOK_CH_STATE"
    if [ -n "${dir:-}" ] && [ -f "$dir/server.pid" ]; then pid="$(cat "$dir/server.pid")"; fi
    if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        local i
        for i in $(seq 1 40); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    case "${dir:-}" in /tmp/casebook-ch.*) rm -rf "$dir" ;; esac
    rm -f "$CASEBOOK_CH_STATE"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-start}" in
        start) clickhouse_start ;;
        stop) clickhouse_stop ;;
        *) echo "usage: bash .ci/clickhouse.sh start|stop" >&2; exit 2 ;;
    esac
fi

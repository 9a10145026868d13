#!/usr/bin/env bash
# Two throwaway ClickHouse servers for Casebook's tests, on 127.0.0.1 (HTTP 8124 and 8125, native
# 9124 and 9125), each in a temporary folder, configured as one two-shard cluster
# (`casebook_two`, in each server's `remote_servers`; no ZooKeeper). The first alone is the test
# server of every suite; the cluster tests use both.
#
#   source .ci/clickhouse.sh; clickhouse_start   # installs, starts, exports CASEBOOK_TEST_CLICKHOUSE_URL
#                                                # and CASEBOOK_TEST_CLICKHOUSE_CLUSTER_URL
#   ...                                          # swift test
#   clickhouse_stop                              # stops the servers and removes their folders
#
# Run directly (`bash .ci/clickhouse.sh start|stop`), it prints the `export` line to use.
# Debian 12 ships ClickHouse 18.16 (`clickhouse-server`, `clickhouse-client`). The server runs
# with a small configuration of its own (ports, data folder, users) written into the temporary
# folder; nothing outside it is touched except the apt packages. The test user has a password,
# so that the tests can check that a wrong one is refused.
CASEBOOK_CH_HTTP_PORT="${CASEBOOK_CH_HTTP_PORT:-8124}"
CASEBOOK_CH_TCP_PORT="${CASEBOOK_CH_TCP_PORT:-9124}"
# The second shard's ports (default: the first's plus one).
CASEBOOK_CH_HTTP_PORT2="${CASEBOOK_CH_HTTP_PORT2:-$((CASEBOOK_CH_HTTP_PORT + 1))}"
CASEBOOK_CH_TCP_PORT2="${CASEBOOK_CH_TCP_PORT2:-$((CASEBOOK_CH_TCP_PORT + 1))}"
CASEBOOK_CH_CLUSTER="${CASEBOOK_CH_CLUSTER:-casebook_two}"
CASEBOOK_CH_STATE="${CASEBOOK_CH_STATE:-/tmp/casebook-clickhouse.state}"
CASEBOOK_CH_USER="${CASEBOOK_CH_USER:-casebook}"
CASEBOOK_CH_PASSWORD="${CASEBOOK_CH_PASSWORD:-casebook-test}"

# `_ch_client [--port TCP_PORT] ARGS...`: the client as the test user (the first server by default).
_ch_client() {
    local port="$CASEBOOK_CH_TCP_PORT"
    if [ "${1:-}" = "--port" ]; then port="$2"; shift 2; fi
    clickhouse-client --host 127.0.0.1 --port "$port" \
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

# `_ch_launch HTTP_PORT TCP_PORT`: writes a server's configuration into a new temporary folder,
# starts it in the background and prints `DIR PID`.
_ch_launch() {
    local http="$1" tcp="$2" dir
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
    <http_port>$http</http_port>
    <tcp_port>$tcp</tcp_port>
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
    <remote_servers>
        <$CASEBOOK_CH_CLUSTER>
            <shard><replica>
                <host>127.0.0.1</host><port>$CASEBOOK_CH_TCP_PORT</port>
                <user>$CASEBOOK_CH_USER</user><password>$CASEBOOK_CH_PASSWORD</password>
            </replica></shard>
            <shard><replica>
                <host>127.0.0.1</host><port>$CASEBOOK_CH_TCP_PORT2</port>
                <user>$CASEBOOK_CH_USER</user><password>$CASEBOOK_CH_PASSWORD</password>
            </replica></shard>
        </$CASEBOOK_CH_CLUSTER>
    </remote_servers>
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
    # Both files hold the throwaway test password (the cluster's servers log in to each other).
    chmod 600 "$dir/config.xml" "$dir/users.xml"
    (cd "$dir" && exec clickhouse-server --config-file="$dir/config.xml" --pid-file="$dir/server.pid" \
        >"$dir/stdout.log" 2>&1 </dev/null) &
    echo "$dir $!"
}

# `_ch_wait TCP_PORT DIR PID`: waits until the test user can run a query there (over the native
# port, with the client installed above: no curl needed; the password on the command line is the
# throwaway test one).
_ch_wait() {
    local port="$1" dir="$2" pid="$3" i
    for i in $(seq 1 120); do
        if _ch_client --port "$port" --query "SELECT 1" >/dev/null 2>&1; then break; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "clickhouse.sh: the server on port $port exited; its log:" >&2
            tail -n 30 "$dir/server.err.log" "$dir/stdout.log" >&2 2>/dev/null
            return 1
        fi
        sleep 0.5
    done
    if ! _ch_client --port "$port" --query "SELECT 1" >/dev/null 2>"$dir/client.err"; then
        echo "clickhouse.sh: the server did not answer on 127.0.0.1:$port within 60 s:" >&2
        cat "$dir/client.err" >&2
        tail -n 30 "$dir/server.err.log" >&2 2>/dev/null
        return 1
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "clickhouse.sh: the server on port $port exited; its log:" >&2
        tail -n 30 "$dir/server.err.log" "$dir/stdout.log" >&2 2>/dev/null
        return 1
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
    for port in "$CASEBOOK_CH_HTTP_PORT" "$CASEBOOK_CH_TCP_PORT" "$CASEBOOK_CH_HTTP_PORT2" "$CASEBOOK_CH_TCP_PORT2"; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "clickhouse.sh: 127.0.0.1:$port is already in use (another ClickHouse server?); stop it, or set CASEBOOK_CH_HTTP_PORT and CASEBOOK_CH_TCP_PORT (and ..._PORT2, the second shard's)" >&2
            return 1
        fi
    done
    local dir pid dir2 pid2
    read -r dir pid < <(_ch_launch "$CASEBOOK_CH_HTTP_PORT" "$CASEBOOK_CH_TCP_PORT")
    read -r dir2 pid2 < <(_ch_launch "$CASEBOOK_CH_HTTP_PORT2" "$CASEBOOK_CH_TCP_PORT2")
    printf 'dir=%q\npid=%q\ndir2=%q\npid2=%q\n' "$dir" "$pid" "$dir2" "$pid2" > "$CASEBOOK_CH_STATE"
    _ch_wait "$CASEBOOK_CH_TCP_PORT" "$dir" "$pid" || return 1
    _ch_wait "$CASEBOOK_CH_TCP_PORT2" "$dir2" "$pid2" || return 1
    _ch_client --query "CREATE DATABASE IF NOT EXISTS casebook_test"
    export CASEBOOK_TEST_CLICKHOUSE_URL="clickhouse://$CASEBOOK_CH_USER:$CASEBOOK_CH_PASSWORD@127.0.0.1:$CASEBOOK_CH_HTTP_PORT/casebook_test"
    export CASEBOOK_TEST_CLICKHOUSE_CLUSTER_URL="$CASEBOOK_TEST_CLICKHOUSE_URL?cluster=$CASEBOOK_CH_CLUSTER&shards=127.0.0.1:$CASEBOOK_CH_HTTP_PORT,127.0.0.1:$CASEBOOK_CH_HTTP_PORT2"
    echo "export CASEBOOK_TEST_CLICKHOUSE_URL=$CASEBOOK_TEST_CLICKHOUSE_URL"
    echo "export CASEBOOK_TEST_CLICKHOUSE_CLUSTER_URL='$CASEBOOK_TEST_CLICKHOUSE_CLUSTER_URL'"
}

clickhouse_stop() {
    [ -f "$CASEBOOK_CH_STATE" ] || return 0
    local dir pid dir2 pid2 d p i
    # shellcheck disable=SC1090
    source "$CASEBOOK_CH_STATE"
    for d in "${dir:-}|${pid:-}" "${dir2:-}|${pid2:-}"; do
        p="${d#*|}"
        d="${d%%|*}"
        [ -n "$d" ] || continue
        if [ -f "$d/server.pid" ]; then p="$(cat "$d/server.pid")"; fi
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
            kill "$p" 2>/dev/null || true
            for i in $(seq 1 40); do
                kill -0 "$p" 2>/dev/null || break
                sleep 0.25
            done
            kill -9 "$p" 2>/dev/null || true
        fi
        case "$d" in /tmp/casebook-ch.*) rm -rf "$d" ;; esac
    done
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

#!/usr/bin/env bash
# Runs each built-in blocklist plugin under valgrind memcheck, driven through every ABI call by
# Plugins/tools/plugin_driver.c: memory, sqlite (a temporary file) and redis (a redis-server
# this script starts on a free port and stops). Exit 0 only when every driver check passed and
# valgrind found no memory error and no definite leak.
#
# The plugins are compiled here with plain `cc`, from the same sources and with the same
# warnings as Package.swift, plus -g: valgrind 3.19 reads gcc's debug info, and this needs no
# SwiftPM build. PLUGINS_MEMCHECK_ENTRIES (default 100000) sets the bulk phase's size; KEEP_WORK=1
# keeps the temporary folder (binaries, driver output, valgrind logs) for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${PLUGINS_MEMCHECK_ENTRIES:-100000}
work=$(mktemp -d "${TMPDIR:-/tmp}/plugins-memcheck.XXXXXX")
redis_pid=""
cleanup() {
    if [[ -n $redis_pid ]]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    [[ -n ${KEEP_WORK:-} ]] || rm -rf "$work"
}
trap cleanup EXIT

# --- Build --------------------------------------------------------------------------------
cflags=(-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer -pthread
    -I Sources/CPortcullisPlugin/include -I Plugins/support/include)
declare -A libraries=([memory]="" [redis]="-lhiredis" [sqlite]="-lsqlite3")
for plugin in memory redis sqlite; do
    # shellcheck disable=SC2086 # the library flag is one word or none
    "${CC:-cc}" "${cflags[@]}" -fPIC -shared -I "Plugins/$plugin" -o "$work/libportcullis_$plugin.so" \
        "Plugins/$plugin"/*.c Plugins/support/*.c ${libraries[$plugin]}
done
"${CC:-cc}" "${cflags[@]}" -o "$work/plugin_driver" Plugins/tools/plugin_driver.c -ldl

# --- Redis on a free port ------------------------------------------------------------------
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_redis() {
    for _ in 1 2 3 4 5; do
        local port=$((20000 + RANDOM % 40000))
        port_taken "$port" && continue
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
            --logfile "$work/redis.log" &
        redis_pid=$!
        for _ in $(seq 100); do
            if [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; then
                redis_port=$port
                return 0
            fi
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.05
        done
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
        redis_pid=""
    done
    echo "redis-server did not start:" >&2
    cat "$work/redis.log" >&2 || true
    return 1
}
start_redis

# --- Runs ------------------------------------------------------------------------------------
# Exit code 1 is either a valgrind error or a wrong answer; the log says which.
memcheck() {
    local name=$1 config=$2
    local log="$work/$name.valgrind.log"
    local started=$SECONDS status=0
    valgrind --leak-check=full --error-exitcode=1 --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --num-callers=30 --log-file="$log" \
        "$work/plugin_driver" "$work/libportcullis_$name.so" "$config" "$entries" >"$work/$name.out" 2>&1 ||
        status=$?
    echo "== $name: exit $status, $((SECONDS - started)) s"
    grep -E 'checks, [0-9]+ failed' "$work/$name.out" || true
    grep -E '^FAIL' "$work/$name.out" || true
    grep -E 'ERROR SUMMARY|definitely lost|indirectly lost' "$log" | sed 's/^==[0-9]*== /   /'
    if ((status != 0)); then
        cat "$work/$name.out" "$log"
        failed+=("$name")
    fi
}
failed=()
memcheck memory '{"sweep_interval": 1}'
memcheck sqlite "{\"path\": \"revoked.db\", \"sweep_interval\": 1, \"config_dir\": \"$work\"}"
# Generous timeouts: under valgrind every call runs tens of times slower than it would.
memcheck redis "{\"url\": \"redis://127.0.0.1:$redis_port/0\", \"connect_timeout_ms\": 10000, \"command_timeout_ms\": 10000}"
if ((${#failed[@]})); then
    echo "plugins-memcheck: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "plugins-memcheck: memory, sqlite and redis clean"

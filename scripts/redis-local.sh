#!/usr/bin/env bash
# The local Redis of the embedded default (`make run`): start | stop | status.
#
# Listens on 127.0.0.1:${FTI_REDIS_PORT:-6379} and keeps its data (an append-only file, so published
# predictions survive a restart), pid file and log in ${FTI_VAR_DIR:-<repo>/var}/redis.
# A Redis is "ours" when it answers on that port with that folder as its working directory.
# Exit codes: 0 done, 1 error, 2 usage; status: 0 running, 3 not running (as LSB init scripts do).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${FTI_REDIS_PORT:-6379}"
# Absolute and symlink-free: redis-server chdirs into its --dir and reports it resolved.
redis_dir="$(realpath -m "${FTI_VAR_DIR:-$repo_root/var}/redis")"
pid_file="$redis_dir/redis.pid"
log_file="$redis_dir/redis.log"
wait_seconds=20

die() {
    echo "redis-local: $*" >&2
    exit 1
}

require() {
    command -v "$1" >/dev/null || die "$1 not found on PATH; install it with scripts/install-system-deps.sh"
}

cli() {
    # timeout: something that is not Redis may accept the connection and never answer.
    timeout 1 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null
}

answers_ping() {
    [[ "$(cli ping)" == PONG ]]
}

port_in_use() {
    timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
}

served_dir() {
    cli config get dir | sed -n 2p
}

is_ours() {
    answers_ping && [[ "$(served_dir)" == "$redis_dir" ]]
}

# Pid from the pid file if that process is alive and working in our folder, else nothing.
our_pid() {
    local pid
    pid="$(cat "$pid_file" 2>/dev/null)" || return 0
    if [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$redis_dir" ]]; then
        echo "$pid"
    fi
}

start() {
    if is_ours; then
        echo "redis-local: already running on 127.0.0.1:$port (pid $(our_pid), dir $redis_dir)"
        return
    fi
    if [[ -n "$(our_pid)" ]]; then
        die "our Redis (pid $(our_pid)) runs but does not answer on port $port; run '$0 stop' first"
    fi
    if answers_ping; then
        die "port $port is served by another Redis (dir $(served_dir)); stop it or set FTI_REDIS_PORT"
    fi
    if port_in_use; then
        die "port $port is taken by something that does not answer PING; free it or set FTI_REDIS_PORT"
    fi
    require redis-server
    mkdir -p "$redis_dir"
    rm -f "$pid_file" # stale: nothing of ours answers
    # memory.conf: maxmemory and noeviction, as in the compose stack; busy-reply-threshold: see
    # docker-compose.yaml (redis-cache).
    redis-server "$repo_root/deploy/redis-cache/memory.conf" --bind 127.0.0.1 --port "$port" \
        --dir "$redis_dir" --appendonly yes --busy-reply-threshold 1000 --daemonize yes \
        --pidfile "$pid_file" --logfile "$log_file"
    local pid=""
    for _ in $(seq $((wait_seconds * 10))); do
        if is_ours; then
            echo "redis-local: started on 127.0.0.1:$port (pid $(our_pid), dir $redis_dir)"
            return
        fi
        pid="${pid:-$(cat "$pid_file" 2>/dev/null || true)}"
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            break # it died while starting
        fi
        sleep 0.1
    done
    echo "redis-local: last lines of $log_file:" >&2
    tail -n 20 "$log_file" >&2 || true
    die "redis-server did not come up on port $port"
}

stop() {
    local pid
    pid="$(our_pid)"
    if is_ours; then
        cli shutdown >/dev/null || true # the connection drops as the server exits
    elif [[ -n "$pid" ]]; then
        kill -TERM "$pid" # ours by its pid file and folder, but not answering
    else
        echo "redis-local: not running on port $port"
        return
    fi
    for _ in $(seq $((wait_seconds * 10))); do
        if ! is_ours && { [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; }; then
            echo "redis-local: stopped (data kept in $redis_dir)"
            return
        fi
        sleep 0.1
    done
    die "redis-server (pid ${pid:-unknown}) still running ${wait_seconds}s after shutdown; see $log_file"
}

status() {
    if is_ours; then
        echo "redis-local: running on 127.0.0.1:$port (pid $(our_pid), dir $redis_dir)"
        return
    fi
    if answers_ping; then
        echo "redis-local: not running (port $port is served by another Redis, dir $(served_dir))"
    else
        echo "redis-local: not running on port $port"
    fi
    return 3
}

case "${1:-}" in
start | stop | status)
    require redis-cli
    "$1"
    ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# A throwaway local PostgreSQL cluster for development, tests, the demo and benchmarks.
#
#   Scripts/dev-db.sh [start] [--dir DIR] [--fast]   start it (if it is not running) and print its URL
#   Scripts/dev-db.sh stop [--dir DIR] [--immediate]  stop it (--immediate: at once, as a crash would)
#   Scripts/dev-db.sh url [--dir DIR]                print the URL of a running cluster
#
# The cluster lives in DIR (default: .pg in the project), listens on a Unix socket there and
# nowhere else, and trusts local connections but those of the role points_password_probe, which
# must give its password (the tests create it to see a password reach the server). Run as root,
# it runs as the `postgres` user.
# --fast turns off fsync and synchronous commit: fine for tests, wrong for benchmarks.
# Installs postgresql and libpq-dev from Debian packages when they are missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/Scripts/lib.sh"

action=start
dir="$root/.pg"
fast=0
mode=fast
while [ $# -gt 0 ]; do
    case "$1" in
        start|stop|url) action=$1 ;;
        --dir) dir=$2; shift ;;
        --fast) fast=1 ;;
        --immediate) mode=immediate ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "dev-db.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac

run_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# As root, the postgres user must be able to reach DIR; where it cannot (a private checkout
# under /root or a mktemp folder), or where the socket path would be too long, the cluster
# goes to a folder under /tmp named after the project, and DIR records where.
resolve_data_dir() {
    if [ -f "$dir/location" ]; then cat "$dir/location"; return; fi
    local candidate="$dir"
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$dir" 2>/dev/null || true
        if ! runuser -u postgres -- test -w "$dir" 2>/dev/null; then
            candidate="/tmp/pointsledger-$(printf '%s' "$dir" | md5sum | cut -c1-12)"
        fi
    fi
    if [ ${#candidate} -gt 80 ]; then
        candidate="/tmp/pointsledger-$(printf '%s' "$dir" | md5sum | cut -c1-12)"
    fi
    if [ "$candidate" != "$dir" ]; then
        echo "dev-db.sh: the postgres user cannot use $dir; the cluster lives in $candidate" >&2
        mkdir -p "$candidate"
        [ "$(id -u)" -ne 0 ] || chown postgres "$candidate"
    fi
    echo "$candidate" > "$dir/location"
    echo "$candidate"
}

ensure_postgres
bin=$(postgres_bin)
data_home=$(resolve_data_dir)
data="$data_home/data"
url="postgresql:///postgres?host=$data_home&user=postgres"

is_running() { run_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

case "$action" in
    url)
        is_running || { echo "dev-db.sh: no cluster is running in $data_home; run Scripts/dev-db.sh start" >&2; exit 1; }
        echo "$url" ;;
    stop)
        if is_running; then run_as_owner "$bin/pg_ctl" -D "$data" -m "$mode" -w stop >&2; else echo "dev-db.sh: not running" >&2; fi ;;
    start)
        if [ ! -f "$data/PG_VERSION" ]; then
            echo "dev-db.sh: creating a cluster in $data" >&2
            run_as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        fi
        probe="local all points_password_probe scram-sha-256"
        if ! grep -qxF "$probe" "$data/pg_hba.conf"; then
            run_as_owner sed -i "1i $probe" "$data/pg_hba.conf"
            if is_running; then run_as_owner "$bin/pg_ctl" -D "$data" reload >/dev/null; fi
        fi
        if ! is_running; then
            options="-c listen_addresses='' -c unix_socket_directories='$data_home' -c max_connections=300 -c max_prepared_transactions=20"
            options+=" -c shared_buffers=2GB -c max_wal_size=4GB -c checkpoint_timeout=30min"
            if [ "$fast" -eq 1 ]; then
                options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            fi
            run_as_owner "$bin/pg_ctl" -D "$data" -l "$data_home/server.log" -o "$options" -w start >/dev/null \
                || { echo "dev-db.sh: the server did not start; see $data_home/server.log" >&2; tail -n 20 "$data_home/server.log" >&2; exit 1; }
            echo "dev-db.sh: PostgreSQL $(cat "$data/PG_VERSION") running on $data_home$([ "$fast" -eq 1 ] && echo ' (fast: no fsync)')" >&2
        fi
        echo "$url" ;;
esac

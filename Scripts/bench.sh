#!/usr/bin/env bash
# Measures the ledger's workloads beside `pgbench -b tpcb-like` on the same server, in the same
# run, and prints each workload's rate and its ratio to pgbench's at the same number of clients.
# Shared machines are noisy: ratios hold, absolute figures do not.
#
#   Scripts/bench.sh                 every workload at 1 and 8 connections, 15 s each
#   BENCH_SECONDS=30 Scripts/bench.sh
#
# Runs on a durable cluster of its own (Scripts/dev-db.sh --dir .pg-bench: fsync on, commits
# synchronous), so figures mean what they would in production.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. Scripts/lib.sh
ensure_postgres

seconds=${BENCH_SECONDS:-15}
clients=(1 8)
workloads=(grant)

echo "Building (release)..." >&2
swift build -c release --product points-admin >&2
swift build -c release --product points-bench >&2
bin=$(swift build -c release --show-bin-path)

url=$(Scripts/dev-db.sh start --dir .pg-bench)
socket_dir=$(printf '%s' "$url" | sed -E 's/.*host=([^&]*).*/\1/')
psql_() { psql -X -q -v ON_ERROR_STOP=1 -h "$socket_dir" -U postgres "$@"; }

psql_ -d postgres -c "DROP DATABASE IF EXISTS pgbench WITH (FORCE)" -c "CREATE DATABASE pgbench"
psql_ -d postgres -c "DROP DATABASE IF EXISTS ledger_bench WITH (FORCE)" -c "CREATE DATABASE ledger_bench"
echo "Initialising pgbench (scale 10)..." >&2
pgbench -q -i -s 10 -h "$socket_dir" -U postgres pgbench >/dev/null 2>&1
ledger_url="postgresql:///ledger_bench?host=$socket_dir&user=postgres"
"$bin/points-admin" db migrate --database-url "$ledger_url" >/dev/null

declare -A pgbench_tps
results=()
for n in "${clients[@]}"; do
    echo "pgbench tpcb-like, $n client(s), ${seconds}s..." >&2
    out=$(pgbench -b tpcb-like -c "$n" -j "$(( n < 2 ? 1 : 2 ))" -T "$seconds" -h "$socket_dir" -U postgres pgbench 2>&1)
    tps=$(printf '%s\n' "$out" | sed -nE 's/^tps = ([0-9.]+) .*/\1/p' | head -n 1)
    [ -n "$tps" ] || { echo "pgbench failed:" >&2; echo "$out" >&2; exit 1; }
    pgbench_tps[$n]=$tps
done
for workload in "${workloads[@]}"; do
    for n in "${clients[@]}"; do
        echo "ledger $workload, $n connection(s), ${seconds}s..." >&2
        line=$("$bin/points-bench" --database-url "$ledger_url" --workload "$workload" --connections "$n" --seconds "$seconds")
        results+=("$workload $n $line")
    done
done

"$bin/points-admin" audit verify --program bench --database-url "$ledger_url" >/dev/null \
    || { echo "bench: audit verify failed after the workloads" >&2; exit 1; }

echo
echo "PostgreSQL $(psql_ -d postgres -Atc 'SHOW server_version'), $(nproc) cores, durable commits, ${seconds}s per run"
printf '%-28s %8s %10s %8s %9s %9s\n' workload clients tps ratio p50_ms p99_ms
for n in "${clients[@]}"; do
    printf '%-28s %8s %10s %8s %9s %9s\n' "pgbench tpcb-like" "$n" "${pgbench_tps[$n]}" "1.00" "" ""
done
for result in "${results[@]}"; do
    read -r workload n line <<<"$result"
    tps=$(printf '%s' "$line" | sed -nE 's/.*tps=([0-9.]+).*/\1/p')
    p50=$(printf '%s' "$line" | sed -nE 's/.*p50_ms=([0-9.]+).*/\1/p')
    p99=$(printf '%s' "$line" | sed -nE 's/.*p99_ms=([0-9.]+).*/\1/p')
    ratio=$(awk -v a="$tps" -v b="${pgbench_tps[$n]}" 'BEGIN { printf "%.2f", a / b }')
    printf '%-28s %8s %10s %8s %9s %9s\n' "ledger $workload" "$n" "$tps" "${ratio}x" "$p50" "$p99"
done
echo "audit verify after the workloads: sound"

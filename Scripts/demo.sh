#!/usr/bin/env bash
# The main job, end to end, on a throwaway local PostgreSQL: build, start the cluster, migrate,
# create a program and members, post purchases and a refund, grants and deductions, check-ins,
# tasks and a birthday (with replays and a refusal), and verify the ledger. Safe to run again:
# it starts from a fresh demo database.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. Scripts/lib.sh
ensure_postgres

echo "== Building points-admin"
swift build --product points-admin 2>&1 | tail -n 1
admin="$(swift build --show-bin-path)/points-admin"

echo "== Starting a local PostgreSQL (Scripts/dev-db.sh)"
server=$(Scripts/dev-db.sh start)
socket_dir=$(printf '%s' "$server" | sed -E 's/.*host=([^&]*).*/\1/')
psql -X -q -h "$socket_dir" -U postgres -d postgres \
    -c "DROP DATABASE IF EXISTS pointsledger_demo WITH (FORCE)" -c "CREATE DATABASE pointsledger_demo"
export PGHOST="$socket_dir" PGUSER=postgres PGDATABASE=pointsledger_demo
echo "   (the commands below use PGHOST=$PGHOST PGDATABASE=$PGDATABASE)"

step() { echo; echo "\$ points-admin $(printf '%q ' "$@")"; "$admin" "$@"; }
refused() { echo; echo "\$ points-admin $(printf '%q ' "$@")  # expected to be refused"; if "$admin" "$@"; then echo "demo: this should have been refused" >&2; exit 1; fi; }

step db migrate
step program create default --currency CNY --time-zone Asia/Shanghai --actor demo
step program set --earn-rate 1 --expiry "months 12" --referral-bonus 50 --actor demo
step tier set ordinary --birthday-bonus 20 --effective-at "$(date -d '30 days ago' +%F)" --actor demo
step tier set advanced --entry-points 200 --multiplier 1.5 --effective-at "$(date -d '30 days ago' +%F)" --actor demo
step member create alice --birthday "$(date +%m-%d)"
step member create bob --referrer alice
step purchase post --member bob --order A-1001 --amount 128.50
step purchase post --member bob --order A-1001 --amount 128.50
step purchase refund --order A-1001 --refund R-1 --amount 28.50
step purchase post --member bob --order A-1002 --amount 150.00
step purchase post --member bob --order A-1003 --amount 10.00
step member tiers bob
step adjust grant --member alice --points 500 --reason "welcome bonus" --actor demo --key welcome-alice
step adjust grant --member bob --points 300 --reason "welcome bonus" --actor demo --key welcome-bob
step adjust deduct --member alice --points 120 --reason "gift card" --actor demo --key gift-alice-1
step adjust deduct --member alice --points 120 --reason "gift card" --actor demo --key gift-alice-1
refused adjust deduct --member bob --points 1000 --reason "too much" --actor demo --key gift-bob-1
step task complete checkin --member alice
step task complete checkin --member alice
step task set quiz --points 15 --cap-day 1 --actor demo
step task complete quiz --member alice --ref quiz-1
step task complete quiz --member alice --ref quiz-2
step jobs birthday
step member show alice
step member show bob --json
step member history bob
step audit verify
echo
echo "Demo done: the ledger is verified. Explore it with: $admin --help"

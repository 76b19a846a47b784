#!/usr/bin/env bash
# The main job, end to end, on a throwaway local PostgreSQL: build, start the cluster, migrate,
# create a program and members, post purchases and a refund, grants and deductions, check-ins,
# tasks and a birthday (with replays and a refusal), and verify the ledger; then start
# points-server as the writer role and post a purchase and a check-in over HTTP with curl, as a
# checkout system and a member app would. Safe to run again: it starts from a fresh demo database.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. Scripts/lib.sh
ensure_postgres

command -v curl >/dev/null 2>&1 || install_packages curl

echo "== Building points-admin and points-server"
swift build --product points-admin 2>&1 | tail -n 1
swift build --product points-server 2>&1 | tail -n 1
admin="$(swift build --show-bin-path)/points-admin"
pointsserver="$(swift build --show-bin-path)/points-server"

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
echo "== points-server: the ledger over HTTP, connected as a login role of the writer role"
psql -X -q -c "DO \$\$ BEGIN CREATE ROLE points_demo_server LOGIN IN ROLE points_writer; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$"
checkout_key=$("$admin" api-key create --role checkout --name "till 1" --actor demo --json | sed -nE 's/.*"secret" *: *"([^"]+)".*/\1/p')
app_key=$("$admin" api-key create --role app --name "mini-program" --actor demo --json | sed -nE 's/.*"secret" *: *"([^"]+)".*/\1/p')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$pointsserver" --port "$port" --database-url "host=$PGHOST dbname=$PGDATABASE user=points_demo_server" >/tmp/points-demo-server.log 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
# Shows each curl with the keys as $CHECKOUT_KEY and $APP_KEY: a secret is never printed.
http() {
    local shown="$*"
    shown=${shown//$checkout_key/\$CHECKOUT_KEY}
    echo; echo "\$ curl ${shown//$app_key/\$APP_KEY}"
    curl -sS -w '\n(HTTP %{http_code})\n' "$@"
}
base="http://127.0.0.1:$port/v1/programs/default"
http "http://127.0.0.1:$port/health"
for _ in 1 2; do   # a checkout system retrying: the second answer is the original, Idempotent-Replayed
    http -i -X POST "$base/purchases" -H "Authorization: Bearer $checkout_key" -H 'Content-Type: application/json' \
        -d '{"member":"alice","order":"W-2001","amount":"88.00"}'
done
http -X POST "$base/members/bob/tasks/checkin/completions" -H "Authorization: Bearer $app_key"
http "$base/members/alice" -H "Authorization: Bearer $app_key"
http -X POST "$base/purchases" -H "Authorization: Bearer $app_key" -H 'Content-Type: application/json' \
    -d '{"member":"alice","order":"W-2002","amount":"1.00"}'   # an app key may not post purchases: 403
kill -TERM "$server_pid"
wait "$server_pid" || true
trap - EXIT
echo
echo "points-server stopped gracefully; its log (one line per request):"
sed 's/^/   /' /tmp/points-demo-server.log
step audit verify
step report liability --html "$root/.pg/liability.html"
echo
echo "Demo done: the ledger is verified; the liability page is .pg/liability.html. Explore it with: $admin --help and $pointsserver --help"

#!/usr/bin/env bash
# points-server under a real OpenAPI fuzzer: Schemathesis (from PyPI, pinned) runs every check
# against the server on loopback, with each role's key over the operations that role may call,
# bounded in examples and time, and fails on any failure. Scripts/test.sh runs it.
#
#   Scripts/fuzz-api.sh [--examples N] [--seconds S]   (defaults: 25 examples per operation, 100 s per role)
#
# Uses POINTS_TEST_DATABASE_URL's server when set (Scripts/test.sh sets it), else starts
# Scripts/dev-db.sh; makes a database of its own there and drops it after. Installs Schemathesis
# into .build/fuzz-venv the first time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. Scripts/lib.sh
ensure_postgres

schemathesis_version=4.32.5
examples=25
seconds=100
while [ $# -gt 0 ]; do
    case "$1" in
        --examples) examples=$2; shift ;;
        --seconds) seconds=$2; shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fuzz-api.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

venv=.build/fuzz-venv
if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$schemathesis_version"; then
    echo "fuzz-api.sh: installing schemathesis $schemathesis_version from PyPI into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==$schemathesis_version"
fi

swift build --product points-admin >/dev/null
swift build --product points-server >/dev/null
bin=$(swift build --show-bin-path)

url=${POINTS_TEST_DATABASE_URL:-$(Scripts/dev-db.sh start)}
socket_dir=$(printf '%s' "$url" | sed -E 's/.*host=([^&]*).*/\1/')
database="points_fuzz_$$"
psql -X -q -h "$socket_dir" -U postgres -d postgres -c "CREATE DATABASE $database"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    psql -X -q -h "$socket_dir" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
}
trap cleanup EXIT
export PGHOST="$socket_dir" PGUSER=postgres PGDATABASE="$database"
admin() { "$bin/points-admin" "$@" >/dev/null; }
secret() { "$bin/points-admin" api-key create --role "$1" --name "fuzz $1" --actor fuzz --json | sed -nE 's/.*"secret" *: *"([^"]+)".*/\1/p'; }

# A program with members, points, a reward and an order to read, so that the examples of the
# document reach the ledger's rules, not only its 404s.
admin db migrate
admin program create default --currency CNY --time-zone Asia/Shanghai --actor fuzz
admin program set --backdate-days 7 --effective-at 2000-01-01 --actor fuzz
admin member create alice
admin member create bob --referrer alice
admin adjust grant --member alice --points 100000 --reason fuzz --actor fuzz --key seed-alice
admin reward set mug --name Mug --cost 100 --stock 1000 --actor fuzz
admin purchase post --member alice --order A-1001 --amount 128.50
psql -X -q -c "DO \$\$ BEGIN CREATE ROLE points_fuzz_server LOGIN IN ROLE points_writer; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$"
checkout=$(secret checkout)
app=$(secret app)
finance=$(secret finance)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
"$bin/points-server" --port "$port" --database-url "host=$PGHOST dbname=$PGDATABASE user=points_fuzz_server" >"$log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done

# The document's business refusals (422: too few points, out of stock, a time outside the
# program's window, an amount with more decimals than its currency) answer valid requests too.
# Requests name the keys' program, and often the members, orders, tasks and rewards made above.
config=$(mktemp --suffix=.toml)
cat > "$config" <<TOML
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[parameters]
"path.program" = "default"
"path.member" = { dictionary = "members", probability = 0.7 }
"body.member" = { dictionary = "members", probability = 0.7 }
"body.referrer" = { dictionary = "members", probability = 0.5 }
"path.order" = { dictionary = "orders", probability = 0.6 }
"path.task" = { dictionary = "tasks", probability = 0.7 }
"body.reward" = { dictionary = "rewards", probability = 0.7 }

[dictionaries.members]
values = ["alice", "bob"]

[dictionaries.orders]
values = ["A-1001"]

[dictionaries.tasks]
values = ["checkin", "post", "share"]

[dictionaries.rewards]
values = ["mug"]
TOML

status=0
for role in ${FUZZ_ROLES:-checkout app finance}; do
    key=${!role}
    # Finance's operations read only, and link to none: no stateful phase for them.
    phases=examples,coverage,fuzzing,stateful
    [ "$role" = finance ] && phases=examples,coverage,fuzzing
    echo "== Schemathesis $schemathesis_version, all checks, as the $role key" >&2
    # One worker: CPython 3.11 before 3.11.8 can fail compiling in a second thread
    # ("AST constructor recursion depth mismatch"), an error of the fuzzer, not of the server.
    "$venv/bin/schemathesis" --config-file "$config" run "http://127.0.0.1:$port/openapi.json" \
        --checks all --include-tag "$role" --phases "$phases" --max-examples "$examples" --max-time "$seconds" --seed 32 \
        --header "Authorization: Bearer $key" --generation-database none --no-color --workers 1 ${FUZZ_ARGS:-} \
        || status=1
done
if grep -q '" 5[0-9][0-9] ' "$log"; then
    echo "fuzz-api.sh: the server answered 5xx:" >&2
    grep '" 5[0-9][0-9] ' "$log" | head -n 20 >&2
    status=1
fi
rm -f "$config" "$log"
exit "$status"

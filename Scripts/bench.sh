#!/usr/bin/env bash
# Measures the ledger's workloads beside `pgbench -b tpcb-like` on the same server, in the same
# run, and prints each workload's rate and its ratio to pgbench's. Shared machines are noisy:
# ratios hold, absolute figures do not.
#
#   Scripts/bench.sh                          every stage (about 25 minutes on 2 cores)
#   Scripts/bench.sh finance import           only the stages named (single, import, tiers, finance, server)
#   BENCH_SECONDS=30 Scripts/bench.sh         longer runs of the single-operation workloads
#   BENCH_IMPORT_LINES=200000 Scripts/bench.sh a smaller import (and expiry) run
#   BENCH_HISTORY_LINES=50000 Scripts/bench.sh  smaller imports of adjustments, redemptions and refunds
#
# Workloads: single grants, single purchases and single check-ins at 1 and 8 connections (compared with
# tpcb-like at 1 and 8 clients), and single purchases in a program whose members move up through
# tiers with multipliers during the run, and their floor (a purchase's writes alone, from pgbench); a bulk import of BENCH_IMPORT_LINES purchases (default
# 1,000,000) over BENCH_IMPORT_MEMBERS members (default 100,000), with the CLI's peak memory
# (compared with tpcb-like at 8 clients), and its floor (an import's writes alone, in batches, from
# pgbench); imports of BENCH_HISTORY_LINES adjustments, redemptions and refunds (default 200,000
# each) into the same members, with their peak memory; the expiry job over the lots that import formed; period-end
# tier evaluation of BENCH_TIER_MEMBERS members (default 1,000,000, loaded with SQL); finance over
# BENCH_FINANCE_POSTINGS postings (default 10,000,000, loaded with SQL): sealing the journal, then
# `audit verify`, `audit verify --deep` and `report balances --as-of` (halfway through the history)
# beside `SELECT sum(amount)` over the movements, in the same run; purchases over HTTP
# (points-server, loaded by wrk on loopback with a script giving each request its own order id)
# at 8 and 64 connections, beside the library's own purchase rate at 8 connections in the same run.
# Runs on a durable cluster of its own (Scripts/dev-db.sh --dir .pg-bench: fsync on, commits
# synchronous), so figures mean what they would in production.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. Scripts/lib.sh
ensure_postgres

seconds=${BENCH_SECONDS:-15}
import_lines=${BENCH_IMPORT_LINES:-1000000}
import_members=${BENCH_IMPORT_MEMBERS:-100000}
history_lines=${BENCH_HISTORY_LINES:-200000}
tier_members=${BENCH_TIER_MEMBERS:-1000000}
finance_postings=${BENCH_FINANCE_POSTINGS:-10000000}
stages=" ${*:-single import tiers finance server} "
for stage in $stages; do
    case "$stage" in single|import|tiers|finance|server) ;; *) echo "bench.sh: unknown stage '$stage' (single, import, tiers, finance, server)" >&2; exit 2 ;; esac
done
want() { [[ "$stages" == *" $1 "* ]]; }
clients=(1 8)
workloads=(grant purchase checkin purchase-tiers redeem)

echo "Building (release)..." >&2
swift build -c release --product points-admin >&2
swift build -c release --product points-bench >&2
if want server; then
    swift build -c release --product points-server >&2
    command -v wrk >/dev/null 2>&1 || install_packages wrk
fi
bin=$(swift build -c release --show-bin-path)

url=$(Scripts/dev-db.sh start --dir .pg-bench)
socket_dir=$(printf '%s' "$url" | sed -E 's/.*host=([^&]*).*/\1/')
psql_() { psql -X -q -v ON_ERROR_STOP=1 -h "$socket_dir" -U postgres "$@"; }
fresh_db() { psql_ -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"; }

fresh_db pgbench
fresh_db ledger_bench
fresh_db ledger_import
fresh_db ledger_tiers
fresh_db ledger_finance
fresh_db ledger_server
echo "Initialising pgbench (scale 10)..." >&2
pgbench -q -i -s 10 -h "$socket_dir" -U postgres pgbench >/dev/null 2>&1
ledger_url="postgresql:///ledger_bench?host=$socket_dir&user=postgres"
import_url="postgresql:///ledger_import?host=$socket_dir&user=postgres"
tiers_url="postgresql:///ledger_tiers?host=$socket_dir&user=postgres"
finance_url="postgresql:///ledger_finance?host=$socket_dir&user=postgres"
server_db_url="postgresql:///ledger_server?host=$socket_dir&user=postgres"
for url_ in "$ledger_url" "$import_url" "$tiers_url" "$finance_url" "$server_db_url"; do "$bin/points-admin" db migrate --database-url "$url_" >/dev/null; done
if want single; then
    # Purchases for members with tiers: advanced from 500 qualifying points (x1.25), premium from 2,000
    # (x1.5), so that members move up during the run and most purchases earn at a multiplier.
    "$bin/points-admin" program create tiers --currency CNY --database-url "$ledger_url" >/dev/null
    "$bin/points-admin" tier set premium --program tiers --entry-points 2000 --multiplier 1.5 --effective-at 2000-01-01 \
        --database-url "$ledger_url" >/dev/null
    "$bin/points-admin" tier set advanced --program tiers --entry-points 500 --multiplier 1.25 --effective-at 2000-01-01 \
        --database-url "$ledger_url" >/dev/null
fi

time_file=$(mktemp)
trap 'rm -f "$time_file" "$time_file.json"' EXIT
declare -A pgbench_tps
results=()
for n in "${clients[@]}"; do
    echo "pgbench tpcb-like, $n client(s), ${seconds}s..." >&2
    out=$(pgbench -b tpcb-like -c "$n" -j "$(( n < 2 ? 1 : 2 ))" -T "$seconds" -h "$socket_dir" -U postgres pgbench 2>&1)
    tps=$(printf '%s\n' "$out" | sed -nE 's/^tps = ([0-9.]+) .*/\1/p' | head -n 1)
    [ -n "$tps" ] || { echo "pgbench failed:" >&2; echo "$out" >&2; exit 1; }
    pgbench_tps[$n]=$tps
done
if want single; then
    for workload in "${workloads[@]}"; do
        for n in "${clients[@]}"; do
            echo "ledger $workload, $n connection(s), ${seconds}s..." >&2
            # Check-ins: each member once a day over the last 6 days, in a program of each run's own.
            members=10000 program=bench kind=$workload
            if [ "$workload" = checkin ]; then members=40000 program=checkin-$n; fi
            if [ "$workload" = purchase-tiers ]; then program=tiers kind=purchase; fi
            if [ "$workload" = redeem ]; then program=redeem; fi
            line=$("$bin/points-bench" --database-url "$ledger_url" --workload "$kind" --connections "$n" --seconds "$seconds" \
                --members "$members" --program "$program")
            results+=("$workload $n $line")
        done
    done
    # The floor: the five writes every purchase makes (its entry, its movement, a lot, the purchase,
    # the member's balances), as plain statements with no look-up, no check and no result, in a
    # program of its own, called as the library calls a purchase (a prepared statement), from
    # pgbench at 8 clients. No purchase function beats it on this server: it shows how much of a
    # purchase's cost is the writes the rules require and how much is everything else.
    echo "purchase writes alone (the floor), 8 connections, ${seconds}s..." >&2
    "$bin/points-admin" program create floor --currency CNY --database-url "$ledger_url" >/dev/null
    floor_program=$(psql_ -d ledger_bench -Atc "SELECT program_id FROM points.programs WHERE name = 'floor'")
    psql_ -d ledger_bench >/dev/null <<SQL
CREATE SCHEMA bench_floor;
CREATE FUNCTION bench_floor.purchase_writes(p_program integer, p_member text, p_order text, p_amount bigint)
RETURNS bigint LANGUAGE plpgsql AS \$\$
DECLARE
    v_entry bigint;
    v_points bigint := p_amount / 100;
BEGIN
    UPDATE points.members SET available = available + v_points, issued = issued - v_points
    WHERE program_id = p_program AND member_id = p_member;
    INSERT INTO points.journal_entries (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
    VALUES (p_program, p_member, 'purchase', 'purchase', p_order, '{}', now())
    ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
    RETURNING entry_id INTO v_entry;
    INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
    VALUES (p_program, p_member, v_entry, 1, 'issued', 'available', v_points, now());
    INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
    VALUES (p_program, p_member, v_entry, now(), NULL, v_points, v_points);
    INSERT INTO points.purchases (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor,
                                  points, pending_points, matures_at)
    VALUES (p_program, p_member, p_order, v_entry, now(), p_amount, 0, v_points, 0, NULL);
    RETURN v_entry;
END
\$\$;
SELECT count(*) FROM generate_series(1, 10000) AS i, points.create_member($floor_program, 'member-' || i, NULL);
SQL
    floor_script=$(mktemp)
    cat > "$floor_script" <<'PGBENCH'
\set m random(1, 10000)
\set a random(100, 50000)
SELECT bench_floor.purchase_writes(:program, 'member-' || :m, 'floor-' || :client_id || '-' || md5(random()::text), :a);
PGBENCH
    out=$(pgbench -n -M prepared -f "$floor_script" -D program="$floor_program" -c 8 -j 2 -T "$seconds" \
        -h "$socket_dir" -U postgres ledger_bench 2>&1)
    rm -f "$floor_script"
    floor_tps=$(printf '%s\n' "$out" | sed -nE 's/^tps = ([0-9.]+) .*/\1/p' | head -n 1)
    [ -n "$floor_tps" ] || { echo "pgbench (floor) failed:" >&2; echo "$out" >&2; exit 1; }
    # Fresh tables have no statistics yet (autovacuum has not caught up): analyse them first, as
    # production would have, or the audit's plans can turn quadratic.
    psql_ -d ledger_bench -c "ANALYZE"
    # Contention: 100,000 attempts over 8 connections on one member, half redemptions of a reward
    # with 3,000 units, half plain spends, until points and stock run out.
    echo "ledger contention on one member, 100,000 attempts over 8 connections..." >&2
    contention=$("$bin/points-bench" --database-url "$ledger_url" --workload contention --connections 8 --attempts 100000 \
        --members 1 --program contention)
    contention_state=$(psql_ -d ledger_bench -Atc "SELECT m.available || ' ' || m.held || ' ' || r.stock
        FROM points.members AS m JOIN points.rewards AS r ON r.program_id = m.program_id
        WHERE m.program_id = (SELECT program_id FROM points.programs WHERE name = 'contention')")
    read -r contention_available contention_held contention_stock <<<"$contention_state"
    if [ "$contention_available" -lt 0 ] || [ "$contention_held" -ne 0 ] || [ "$contention_stock" -lt 0 ]; then
        echo "bench: contention left available $contention_available, held $contention_held, stock $contention_stock" >&2; exit 1
    fi
    for program in bench checkin-1 checkin-8 tiers redeem contention; do
        "$bin/points-admin" audit verify --program "$program" --database-url "$ledger_url" >/dev/null \
            || { echo "bench: audit verify of program $program failed after the single-operation workloads" >&2; exit 1; }
    done
fi

if want import; then
    # The import: purchases from 30 days ago (history, so --allow-backdated), in a program whose lots
    # last one day, so that every lot the import forms has expired when the expiry job runs.
    import_file="$socket_dir/import-$import_lines.jsonl"
    day=$(date -u -d '30 days ago' +%Y-%m-%d)
    # Every member buys once first (the history imports below need them all), then at random.
    echo "Writing $import_lines purchases over $import_members members to $import_file..." >&2
    awk -v n="$import_lines" -v m="$import_members" -v day="$day" 'BEGIN {
        srand(42)
        for (i = 1; i <= n; i++)
            printf "{\"order_id\": \"bench-%d\", \"member\": \"member-%d\", \"amount\": \"%d.%02d\", \"occurred_at\": \"%sT%02d:%02d:00+08:00\"}\n",
                i, i <= m ? i : int(rand() * m) + 1, 1 + int(rand() * 500), int(rand() * 100), day, int(rand() * 24), int(rand() * 60)
    }' > "$import_file"
    "$bin/points-admin" program create bench --currency CNY --database-url "$import_url" >/dev/null
    "$bin/points-admin" program set bench --expiry "days 1" --effective-at 2000-01-01 --database-url "$import_url" >/dev/null
    echo "Importing..." >&2
    /usr/bin/time -f "%e %M" -o "$time_file" "$bin/points-admin" import purchases "$import_file" --program bench --allow-backdated \
        --report /dev/null --json --database-url "$import_url" > "$time_file.json"
    read -r import_seconds import_kb < "$time_file"
    accepted=$(sed -nE 's/.*"accepted":([0-9]+).*/\1/p' "$time_file.json")
    [ "$accepted" = "$import_lines" ] || { echo "bench: the import accepted $accepted of $import_lines lines" >&2; cat "$time_file.json" >&2; exit 1; }
    psql_ -d ledger_import -c "ANALYZE"
    echo "Expiring the imported lots..." >&2
    /usr/bin/time -f "%e" -o "$time_file" "$bin/points-admin" jobs expire --program bench --json --database-url "$import_url" > "$time_file.json"
    read -r expire_seconds < "$time_file"
    expired=$(sed -nE 's/.*"items" : ([0-9]+).*/\1/p' "$time_file.json")
    "$bin/points-admin" audit verify --program bench --database-url "$import_url" >/dev/null \
        || { echo "bench: audit verify failed after the import and expiry" >&2; exit 1; }
    rm -f "$time_file.json" "$import_file"

    # The history imports, into the same program and members: adjustments (a grant of 100 points
    # to every member 29 days ago, then as many deductions of 5 a day later), redemptions (spends
    # of 10 points), refunds (of 0.01 of the imported orders). Each line is posted, none refused.
    history_lines=$(( history_lines < import_lines ? history_lines : import_lines ))  # refunds need as many orders
    history_half=$(( history_lines / 2 ))
    granted=$(( history_half < import_members ? history_half : import_members ))  # members granted points
    declare -A history_seconds history_kb
    for kind in adjustments redemptions refunds; do
        history_file="$socket_dir/history-$kind.csv"
        case "$kind" in
        adjustments) awk -v n="$history_lines" -v m="$granted" -v h="$history_half" \
            -v g="$(date -u -d '29 days ago' +%Y-%m-%d)" -v d="$(date -u -d '28 days ago' +%Y-%m-%d)" 'BEGIN {
                print "key,member,points,reason,occurred_at"
                for (i = 1; i <= n; i++)
                    printf "a-%d,member-%d,%d,%s,%sT%02d:%02d:%02dZ\n", i, ((i <= h ? i : i - h) - 1) % m + 1, i <= h ? 100 : -5,
                        i <= h ? "opening balance" : "correction",
                        i <= h ? g : d, int(i * 86399 / n) / 3600, int(i * 86399 / n) % 3600 / 60, int(i * 86399 / n) % 60
            }' ;;
        redemptions) awk -v n="$history_lines" -v m="$granted" -v day="$(date -u -d '27 days ago' +%Y-%m-%d)" 'BEGIN {
                print "key,member,points,reason,occurred_at"
                for (i = 1; i <= n; i++)
                    printf "r-%d,member-%d,10,gift card,%sT%02d:%02d:%02dZ\n", i, (i - 1) % m + 1, day,
                        int(i * 86399 / n) / 3600, int(i * 86399 / n) % 3600 / 60, int(i * 86399 / n) % 60
            }' ;;
        refunds) awk -v n="$history_lines" -v day="$(date -u -d '26 days ago' +%Y-%m-%d)" 'BEGIN {
                print "refund_id,order_id,amount,occurred_at"
                for (i = 1; i <= n; i++) printf "rf-%d,bench-%d,0.01,%sT12:00:00Z\n", i, i, day
            }' ;;
        esac > "$history_file"
        echo "Importing $history_lines $kind..." >&2
        /usr/bin/time -f "%e %M" -o "$time_file" "$bin/points-admin" import "$kind" "$history_file" --program bench --allow-backdated \
            --report /dev/null --json --database-url "$import_url" > "$time_file.json" || true
        read -r history_seconds[$kind] history_kb[$kind] < "$time_file"
        accepted=$(sed -nE 's/.*"accepted":([0-9]+).*/\1/p' "$time_file.json")
        [ "$accepted" = "$history_lines" ] \
            || { echo "bench: the import of $kind accepted $accepted of $history_lines lines" >&2; cat "$time_file.json" >&2; exit 1; }
        rm -f "$history_file" "$time_file.json"
    done
    "$bin/points-admin" audit verify --program bench --database-url "$import_url" >/dev/null \
        || { echo "bench: audit verify failed after the history imports" >&2; exit 1; }

    # The import's floor: the writes an import makes, alone, in a fresh database with the members
    # already there. Batches of the import's size, one transaction each, on two connections that
    # each own half of the members, as the import's do: each batch writes its lines' entries (with
    # their requests), postings, purchases and lots in member order, and one balance update per
    # member. No parsing, no COPY, no checks, no tiers.
    fresh_db ledger_import_floor
    floor_url="postgresql:///ledger_import_floor?host=$socket_dir&user=postgres"
    "$bin/points-admin" db migrate --database-url "$floor_url" >/dev/null
    "$bin/points-admin" program create floor --currency CNY --database-url "$floor_url" >/dev/null
    import_floor_program=$(psql_ -d ledger_import_floor -Atc "SELECT program_id FROM points.programs WHERE name = 'floor'")
    psql_ -d ledger_import_floor >/dev/null <<SQL
INSERT INTO points.members (program_id, member_id, tier)
SELECT $import_floor_program, 'member-' || i, (SELECT tier FROM points.tiers WHERE program_id = $import_floor_program ORDER BY rank LIMIT 1)
FROM generate_series(1, $import_members) AS i;
ANALYZE points.members;
CREATE SCHEMA bench_floor;
CREATE FUNCTION bench_floor.import_writes(p_program integer, p_share integer, p_lines integer, p_members integer)
RETURNS integer LANGUAGE plpgsql SET work_mem = '64MB' AS \$\$
BEGIN
    CREATE TEMP TABLE lines ON COMMIT DROP AS
    SELECT x.member_id, nextval('points.journal_entry_ids') AS entry_id, x.amount_minor, x.amount_minor / 100 AS points,
           now() - interval '30 days' AS occurred_at
    FROM (SELECT 'member-' || (1 + p_share + 2 * floor(random() * (p_members / 2))::integer) AS member_id,
                 100 + floor(random() * 50000)::bigint AS amount_minor
          FROM generate_series(1, p_lines)) AS x
    ORDER BY x.member_id;
    INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
    SELECT p_program, l.member_id, l.entry_id, 'purchase', 'purchase', 'floor-' || l.entry_id,
           jsonb_build_object('member', l.member_id, 'order', 'floor-' || l.entry_id, 'amount_minor', l.amount_minor,
                              'points_paid_minor', 0, 'occurred_at', l.occurred_at AT TIME ZONE 'UTC'), l.occurred_at, true
    FROM pg_temp.lines AS l;
    INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
    SELECT p_program, l.member_id, l.entry_id, 1, 'issued', 'available', l.points, l.occurred_at FROM pg_temp.lines AS l;
    INSERT INTO points.purchases (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor,
                                  points, pending_points, matures_at)
    SELECT p_program, l.member_id, 'floor-' || l.entry_id, l.entry_id, l.occurred_at, l.amount_minor, 0, l.points, 0, NULL
    FROM pg_temp.lines AS l;
    INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
    SELECT p_program, l.member_id, l.entry_id, l.occurred_at, l.occurred_at + interval '1 day', l.points, l.points
    FROM pg_temp.lines AS l;
    UPDATE points.members AS m SET available = m.available + t.points, issued = m.issued - t.points
    FROM (SELECT l.member_id, sum(l.points) AS points FROM pg_temp.lines AS l GROUP BY l.member_id) AS t
    WHERE m.program_id = p_program AND m.member_id = t.member_id;
    DROP TABLE pg_temp.lines;
    RETURN p_lines;
END
\$\$;
SQL
    import_batch=50000  # points-admin import's default --batch
    floor_batches=$(( import_lines / import_batch / 2 > 0 ? import_lines / import_batch / 2 : 1 ))
    echo "Import writes alone (the floor): $(( floor_batches * import_batch * 2 )) lines over 2 connections..." >&2
    floor_script=$(mktemp)
    echo "SELECT bench_floor.import_writes($import_floor_program, :client_id, $import_batch, $import_members);" > "$floor_script"
    out=$(pgbench -n -f "$floor_script" -c 2 -j 2 -t "$floor_batches" -h "$socket_dir" -U postgres ledger_import_floor 2>&1)
    rm -f "$floor_script"
    import_floor_tps=$(printf '%s\n' "$out" | sed -nE 's/^tps = ([0-9.]+) .*/\1/p' | head -n 1)
    [ -n "$import_floor_tps" ] || { echo "pgbench (import floor) failed:" >&2; echo "$out" >&2; exit 1; }
    "$bin/points-admin" audit verify --program floor --database-url "$floor_url" >/dev/null \
        || { echo "bench: audit verify failed after the import floor" >&2; exit 1; }
fi
if want single; then
    tier_line=$(psql_ -d ledger_bench -Atc "SELECT count(*) FILTER (WHERE tier <> 'ordinary') || ' of ' || count(*)
        FROM points.members WHERE program_id = (SELECT program_id FROM points.programs WHERE name = 'tiers')")
fi

if want tiers; then
    # Period-end tier evaluation: members spread over the three tiers, with random qualifying totals
    # for last month (loaded with SQL: the import above already measures posting), in a program
    # whose tier period is the month.
    echo "Loading $tier_members members for tier evaluation..." >&2
    "$bin/points-admin" program create evaluation --currency CNY --database-url "$tiers_url" >/dev/null
    "$bin/points-admin" program set evaluation --tier-period month --effective-at 2000-01-01 --database-url "$tiers_url" >/dev/null
    psql_ -d ledger_tiers <<SQL
INSERT INTO points.members (program_id, member_id, tier)
SELECT 1, 'member-' || g, CASE WHEN g % 10 = 0 THEN 'premium' WHEN g % 10 < 4 THEN 'advanced' ELSE 'ordinary' END
FROM generate_series(1, $tier_members) AS g;
INSERT INTO points.qualifying_totals (program_id, member_id, period_start, points, spend_minor)
SELECT 1, 'member-' || g, date_trunc('month', (now() AT TIME ZONE 'Asia/Shanghai') - interval '1 month')::date,
       (random() * 8000)::bigint, (random() * 500000)::bigint
FROM generate_series(1, $tier_members) AS g WHERE g % 3 <> 0;
ANALYZE;
SQL
    echo "Evaluating tiers..." >&2
    /usr/bin/time -f "%e" -o "$time_file" "$bin/points-admin" jobs tiers --program evaluation --json --database-url "$tiers_url" > "$time_file.json"
    read -r tier_seconds < "$time_file"
    # The first "members" and "changed" are the period's (keys are sorted; its moves come after).
    evaluated=$(tr -d ' \n' < "$time_file.json" | grep -oE '"members":[0-9]+' | head -n 1 | cut -d: -f2)
    changed=$(tr -d ' \n' < "$time_file.json" | grep -oE '"changed":[0-9]+' | head -n 1 | cut -d: -f2)
    [ "$evaluated" = "$tier_members" ] || { echo "bench: tier evaluation covered $evaluated of $tier_members members" >&2; cat "$time_file.json" >&2; exit 1; }
fi

# Finance: a program with BENCH_FINANCE_POSTINGS postings (an entry of two postings each, that is
# one movement, members with twenty postings each, one entry every 12 seconds up to a day ago),
# loaded with SQL as the owner. The journal is sealed with `jobs seal`; then `SELECT sum(amount)`
# over the movements, `audit verify` (by fingerprint), `audit verify --deep` (every hash) and
# `report balances --as-of` halfway through the history each run three times, warm, and the best
# of each counts.
if want finance; then
    finance_entries=$(( finance_postings / 2 ))
    finance_members=$(( finance_postings / 20 > 0 ? finance_postings / 20 : 1 ))
    echo "Loading $finance_postings postings over $finance_members members for finance..." >&2
    "$bin/points-admin" program create finance --currency CNY --database-url "$finance_url" >/dev/null
    psql_ -d ledger_finance <<SQL
SET ROLE points_owner;
CREATE TEMP TABLE load AS
SELECT 'member-' || (i % $finance_members + 1) AS member_id, nextval('points.journal_entry_ids') AS entry_id,
       (10 + i % 90)::bigint AS points, now() - interval '1 day' - (($finance_entries - i) * interval '12 seconds') AS at
FROM generate_series(0, $finance_entries - 1) AS i;
INSERT INTO points.members (program_id, member_id, tier, created_at)
SELECT p.program_id, 'member-' || g, 'ordinary', now() - interval '1 day' - ($finance_entries * interval '12 seconds')
FROM points.programs AS p CROSS JOIN generate_series(1, $finance_members) AS g WHERE p.name = 'finance';
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at)
SELECT p.program_id, l.member_id, l.entry_id, 'adjustment.grant', 'adjustment', 'grant-' || l.entry_id,
       jsonb_build_object('member', l.member_id, 'points', l.points, 'reason', 'bench', 'actor', 'bench'), l.at, l.at
FROM load AS l CROSS JOIN points.programs AS p WHERE p.name = 'finance';
INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
SELECT p.program_id, l.member_id, l.entry_id, 1, 'adjustments', 'available', l.points, l.at
FROM load AS l CROSS JOIN points.programs AS p WHERE p.name = 'finance';
INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, amount, remaining)
SELECT p.program_id, l.member_id, l.entry_id, l.at, l.points, l.points
FROM load AS l CROSS JOIN points.programs AS p WHERE p.name = 'finance';
UPDATE points.members AS m SET available = t.points, adjustments = -t.points
FROM (SELECT member_id, sum(points) AS points FROM load GROUP BY member_id) AS t, points.programs AS p
WHERE p.name = 'finance' AND m.program_id = p.program_id AND m.member_id = t.member_id;
RESET ROLE;
VACUUM ANALYZE;
SQL
    echo "Sealing the journal..." >&2
    /usr/bin/time -f "%e" -o "$time_file" "$bin/points-admin" jobs seal --program finance --json --database-url "$finance_url" \
        > "$time_file.json"
    read -r seal_seconds < "$time_file"
    # The best of three warm runs of a command, in seconds.
    best_of_three() {
        local best="" t
        for _ in 1 2 3; do
            /usr/bin/time -f "%e" -o "$time_file" "$@" > /dev/null || { echo "bench: '$*' failed" >&2; exit 1; }
            read -r t < "$time_file"
            best=$(awk -v a="$t" -v b="$best" 'BEGIN { print (b == "" || a < b) ? a : b }')
        done
        printf '%s' "$best"
    }
    echo "Timing sum(amount), audit verify and report balances --as-of..." >&2
    sum_seconds=$(best_of_three psql -X -h "$socket_dir" -U postgres -d ledger_finance -Atc "SELECT sum(amount) FROM points.movements")
    verify_seconds=$(best_of_three "$bin/points-admin" audit verify --program finance --database-url "$finance_url")
    deep_seconds=$(best_of_three "$bin/points-admin" audit verify --deep --program finance --database-url "$finance_url")
    halfway=$(psql_ -d ledger_finance -Atc "SELECT to_char((min(occurred_at) + (max(occurred_at) - min(occurred_at)) / 2) AT TIME ZONE 'UTC',
        'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM points.movements")
    balances_seconds=$(best_of_three "$bin/points-admin" report balances --program finance --as-of "$halfway" --csv \
        --database-url "$finance_url")
    balances_lines=$("$bin/points-admin" report balances --program finance --as-of "$halfway" --csv --database-url "$finance_url" | wc -l)
fi

echo
if want server; then
    # Purchases over HTTP: points-server (release) connected as a login role of the writer role,
    # loaded by wrk on loopback with each request its own order id, at 8 and 64 connections; the
    # library's own purchase rate at 8 connections, measured just before in the same program.
    echo "ledger purchase (library, for the server's ratio), 8 connections, ${seconds}s..." >&2
    server_library=$("$bin/points-bench" --database-url "$server_db_url" --workload purchase --connections 8 --seconds "$seconds" \
        --members 10000 --program http)
    psql_ -d ledger_server -c "ANALYZE" >/dev/null
    psql_ -d postgres -c "DO \$\$ BEGIN CREATE ROLE points_bench_server LOGIN IN ROLE points_writer; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" >/dev/null
    server_key=$("$bin/points-admin" api-key create --program http --role checkout --name "bench" --actor bench --json \
        --database-url "$server_db_url" | sed -nE 's/.*"secret" *: *"([^"]+)".*/\1/p')
    server_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    server_log=$(mktemp)
    "$bin/points-server" --port "$server_port" --connections 8 \
        --database-url "postgresql:///ledger_server?host=$socket_dir&user=points_bench_server" >"$server_log" 2>&1 &
    server_pid=$!
    trap 'rm -f "$time_file" "$time_file.json" "$server_log" "$wrk_script"; kill "$server_pid" 2>/dev/null || true' EXIT
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$server_port/health" >/dev/null 2>&1 && break; sleep 0.1; done
    wrk_script=$(mktemp --suffix=.lua)
    cat > "$wrk_script" <<LUA
-- Each request a purchase of its own: order ids unique per run, thread and request.
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) run = args[1]; n = 0; math.randomseed(tid * 7919) end
function request()
    n = n + 1
    local body = string.format('{"member":"member-%d","order":"http-%s-%d-%d","amount":"%d.%02d"}',
        math.random(1, 10000), run, tid, n, math.random(1, 500), math.random(0, 99))
    return wrk.format("POST", "/v1/programs/http/purchases",
        {["Authorization"] = "Bearer $server_key", ["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
    io.write(string.format("wrk requests=%d non2xx=%d errors=%d p50_ms=%.2f p99_ms=%.2f\\n", summary.requests,
        summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
    declare -A server_lines
    for n in 8 64; do
        echo "points-server purchases over HTTP (wrk), $n connections, ${seconds}s..." >&2
        out=$(wrk -t 2 -c "$n" -d "${seconds}s" -s "$wrk_script" "http://127.0.0.1:$server_port" -- "c$n" 2>&1)
        rps=$(printf '%s\n' "$out" | sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p')
        stats=$(printf '%s\n' "$out" | grep '^wrk requests=' || true)
        [ -n "$rps" ] && [ -n "$stats" ] || { echo "wrk failed:" >&2; echo "$out" >&2; exit 1; }
        bad=$(printf '%s' "$stats" | sed -nE 's/.*non2xx=([0-9]+) errors=([0-9]+).*/\1 \2/p')
        [ "$bad" = "0 0" ] || { echo "bench: HTTP purchases failed ($stats)" >&2; tail -n 5 "$server_log" >&2; exit 1; }
        server_lines[$n]="$rps $stats"
    done
    kill -TERM "$server_pid"; wait "$server_pid" || true
    "$bin/points-admin" audit verify --program http --database-url "$server_db_url" >/dev/null \
        || { echo "bench: audit verify failed after the HTTP purchases" >&2; exit 1; }
fi

echo "PostgreSQL $(psql_ -d postgres -Atc 'SHOW server_version'), $(nproc) cores, durable commits, ${seconds}s per single-operation run"
printf '%-28s %8s %12s %8s %9s %9s\n' workload clients "per second" ratio p50_ms p99_ms
for n in "${clients[@]}"; do
    printf '%-28s %8s %12s %8s %9s %9s\n' "pgbench tpcb-like" "$n" "${pgbench_tps[$n]}" "1.00" "" ""
done
for result in "${results[@]}"; do
    read -r workload n line <<<"$result"
    tps=$(printf '%s' "$line" | sed -nE 's/.*tps=([0-9.]+).*/\1/p')
    p50=$(printf '%s' "$line" | sed -nE 's/.*p50_ms=([0-9.]+).*/\1/p')
    p99=$(printf '%s' "$line" | sed -nE 's/.*p99_ms=([0-9.]+).*/\1/p')
    ratio=$(awk -v a="$tps" -v b="${pgbench_tps[$n]}" 'BEGIN { printf "%.2f", a / b }')
    printf '%-28s %8s %12s %8s %9s %9s\n' "ledger $workload" "$n" "$tps" "${ratio}x" "$p50" "$p99"
done
if want import; then
    import_rate=$(awk -v n="$import_lines" -v s="$import_seconds" 'BEGIN { printf "%.1f", n / s }')
    import_ratio=$(awk -v a="$import_rate" -v b="${pgbench_tps[8]}" 'BEGIN { printf "%.2f", a / b }')
    printf '%-28s %8s %12s %8s\n' "import (purchases)" "2" "$import_rate" "${import_ratio}x"
    import_floor_rate=$(awk -v t="$import_floor_tps" -v b="$import_batch" 'BEGIN { printf "%.1f", t * b }')
    import_floor_ratio=$(awk -v a="$import_floor_rate" -v b="${pgbench_tps[8]}" 'BEGIN { printf "%.2f", a / b }')
    printf '%-28s %8s %12s %8s\n' "import writes alone" "2" "$import_floor_rate" "${import_floor_ratio}x"
    for kind in adjustments redemptions refunds; do
        rate=$(awk -v n="$history_lines" -v s="${history_seconds[$kind]}" 'BEGIN { printf "%.1f", n / s }')
        printf '%-28s %8s %12s %8s\n' "import ($kind)" "$([ "$kind" = refunds ] && echo 1 || echo 2)" "$rate" \
            "$(awk -v a="$rate" -v b="${pgbench_tps[8]}" 'BEGIN { printf "%.2f", a / b }')x"
    done
    echo "import: $import_lines purchases over $import_members members in ${import_seconds} s, CLI peak memory $(( import_kb / 1024 )) MB"
    echo "history imports: $history_lines lines each; CLI peak memory adjustments $(( history_kb[adjustments] / 1024 )) MB," \
        "redemptions $(( history_kb[redemptions] / 1024 )) MB, refunds $(( history_kb[refunds] / 1024 )) MB"
    echo "import writes alone: the floor of any import on this server (entries, movements, purchases, lots, one balance update per member a batch; no parsing, COPY, checks or tiers)"
    echo "expiry job: $expired lots expired in ${expire_seconds} s"
fi
if want single; then
    floor_ratio=$(awk -v a="$floor_tps" -v b="${pgbench_tps[8]}" 'BEGIN { printf "%.2f", a / b }')
    printf '%-28s %8s %12s %8s\n' "purchase writes alone" "8" "$floor_tps" "${floor_ratio}x"
    echo "purchase writes alone: the floor of any purchase function on this server (entry, movement, lot, purchase, balances; no logic)"
    echo "purchase-tiers: $tier_line members above the entry tier at the end of the runs"
fi
if want tiers; then
    echo "tier evaluation: $evaluated members ($changed changed tier) in ${tier_seconds} s"
fi
if want single; then
    contention_ops=$(printf '%s' "$contention" | sed -nE 's/.*operations=([0-9]+).*/\1/p')
    contention_refused=$(printf '%s' "$contention" | sed -nE 's/.*refused=([0-9]+).*/\1/p')
    contention_tps=$(printf '%s' "$contention" | sed -nE 's/.*tps=([0-9.]+).*/\1/p')
    echo "contention on one member: $contention_ops attempts ($contention_tps/s), $(( contention_ops - contention_refused )) succeeded," \
        "$contention_refused refused; available $contention_available, held $contention_held, stock left $contention_stock: no overdraft"
    echo "audit verify after every workload: sound"
fi
if want finance; then
    echo
    echo "finance over $finance_postings postings ($finance_entries entries, $finance_members members; best of 3 warm runs):"
    printf '%-52s %10s %8s\n' "" seconds ratio
    for row in "SELECT sum(amount) FROM movements:$sum_seconds" "audit verify:$verify_seconds" "audit verify --deep:$deep_seconds" \
               "report balances --as-of $halfway --csv:$balances_seconds"; do
        printf '%-52s %10s %8s\n' "${row%:*}" "${row##*:}" "$(awk -v a="${row##*:}" -v b="$sum_seconds" 'BEGIN { printf "%.1fx", a / b }')"
    done
    echo "jobs seal: the whole journal in ${seal_seconds} s; report balances listed $(( balances_lines - 1 )) members"
fi
if want server; then
    library_tps=$(printf '%s' "$server_library" | sed -nE 's/.*tps=([0-9.]+).*/\1/p')
    echo "purchases over HTTP (points-server, wrk on loopback; ratio to the library's purchases at 8 connections in the same run):"
    printf '%-28s %8s %12s %8s %9s %9s\n' "library purchase" 8 "$library_tps" "1.00" \
        "$(printf '%s' "$server_library" | sed -nE 's/.*p50_ms=([0-9.]+).*/\1/p')" "$(printf '%s' "$server_library" | sed -nE 's/.*p99_ms=([0-9.]+).*/\1/p')"
    for n in 8 64; do
        read -r rps stats <<<"${server_lines[$n]}"
        printf '%-28s %8s %12s %8s %9s %9s\n' "HTTP purchase" "$n" "$rps" "$(awk -v a="$rps" -v b="$library_tps" 'BEGIN { printf "%.2f", a / b }')x" \
            "$(printf '%s' "$stats" | sed -nE 's/.*p50_ms=([0-9.]+).*/\1/p')" "$(printf '%s' "$stats" | sed -nE 's/.*p99_ms=([0-9.]+).*/\1/p')"
    done
fi

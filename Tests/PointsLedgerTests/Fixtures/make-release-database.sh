#!/usr/bin/env bash
# Makes release-database.sql: a database as the release before the journal of movements left it
# (migrations 0001 to 0003, commit f59589b), holding a program's history of every kind of entry
# (purchases, a refund of three legs, grants, deductions, check-ins, tasks, a referral, a
# redemption, holds captured and voided, maturation, expiry, sealed blocks), dumped by pg_dump.
# MigrationTests restores it, migrates it to this build, and checks that nothing changed that
# finance reads. Run it with that release's points-admin:
#   make-release-database.sh PATH/TO/points-admin 'host=/socket/dir user=postgres'
set -euo pipefail
admin=$1 server=$2
here=$(cd "$(dirname "$0")" && pwd)
psql -X -q -d "$server dbname=postgres" -c "DROP DATABASE IF EXISTS release_fixture" -c "CREATE DATABASE release_fixture"
url="$server dbname=release_fixture"
a() { "$admin" "$@" --database-url "$url" >/dev/null; }
a db migrate
a program create default --currency CNY --time-zone Asia/Shanghai --actor fixture
a program set --earn-rate 1 --return-window-days 7 --refund-policy write_off --expiry "days 30" --referral-bonus 50 \
    --effective-at 2026-01-01 --actor fixture
a member create alice
a member create bob --referrer alice
a member create carol
a purchase post --member bob --order A-1 --amount 300.00 --at 2026-02-01T10:00:00 --allow-backdated
a purchase post --member bob --order A-2 --amount 100.00 --at 2026-02-20T10:00:00 --allow-backdated
a jobs mature --as-of 2026-02-15
a adjust deduct --member bob --points 250 --reason "gift card" --actor fixture --key gift-bob-1
a purchase refund --order A-1 --refund R-1 --amount 300.00
a adjust grant --member alice --points 500 --reason "welcome bonus" --actor fixture --key welcome-alice
a adjust grant --member carol --points 80 --reason "opening balance" --actor fixture --key open-carol
a task complete checkin --member alice
a task set quiz --points 15 --cap-day 1 --actor fixture
a task complete quiz --member alice --ref quiz-1
a reward set mug --name "Coffee mug" --cost 120 --stock 5 --actor fixture
a redeem --member alice --reward mug --key redeem-alice-1
a hold create --member alice --points 100 --expires-in 1d --key hold-1
a hold capture 1 --points 60
a hold create --member alice --points 50 --expires-in 1d --key hold-2
a hold void 2
a jobs mature
a jobs expire
a jobs seal
a purchase post --member carol --order C-1 --amount 20.00
pg_dump --column-inserts --no-comments "$url" | grep -v '^\\\(un\)\?restrict ' > "$here/release-database.sql"
psql -X -q -d "$server dbname=postgres" -c "DROP DATABASE release_fixture"

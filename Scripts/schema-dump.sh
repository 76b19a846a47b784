#!/usr/bin/env bash
# Schema/shape.sql: every schema object the migrations leave (types, domains, tables, sequences,
# constraints, indexes) as pg_dump prints it, without functions, triggers, owners or privileges,
# so that one file shows the database's final shape however many migrations made it. A test
# compares it with a freshly migrated database; after adding a migration, run this to update it.
#
#   Scripts/schema-dump.sh               build points-admin, migrate a scratch database on the dev
#                                        cluster (Scripts/dev-db.sh) and write Schema/shape.sql
#   Scripts/schema-dump.sh --print URL   print the shape of the migrated database at URL
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/Scripts/lib.sh"
ensure_postgres

shape() {
    "$(postgres_bin)/pg_dump" --schema-only --schema=points --no-owner --no-privileges --no-comments "$1" |
        awk '
            /^CREATE FUNCTION / { skipping = "function"; next }
            skipping == "function" { if ($0 ~ /^\$[A-Za-z_]*\$;$/) skipping = ""; next }
            /^CREATE TRIGGER / { if ($0 !~ /;$/) skipping = "statement"; next }
            skipping == "statement" { if ($0 ~ /;$/) skipping = ""; next }
            /^--/ || /^SET / || /^SELECT pg_catalog\.set_config/ || /^\\(un)?restrict / { next }
            /^$/ { if (printed) pending = 1; next }
            { if (pending) print ""; pending = 0; printed = 1; print }
        '
}

if [ "${1:-}" = "--print" ]; then
    [ $# -eq 2 ] || { echo "schema-dump.sh: --print needs the database URL" >&2; exit 2; }
    shape "$2"
    exit 0
fi
[ $# -eq 0 ] || { echo "schema-dump.sh: unknown argument '$1' (see the header of this script)" >&2; exit 2; }

cd "$root"
swift build --product points-admin >&2
url=$(Scripts/dev-db.sh start)
scratch="points_shape_$$"
psql "$url" -q -c "CREATE DATABASE $scratch" >&2
trap 'psql "$url" -q -c "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >&2' EXIT
scratch_url=${url/\/postgres\?//$scratch?}
.build/debug/points-admin db migrate --database-url "$scratch_url" >&2
shape "$scratch_url" > Schema/shape.sql
echo "schema-dump.sh: wrote Schema/shape.sql ($(wc -l < Schema/shape.sql) lines)" >&2

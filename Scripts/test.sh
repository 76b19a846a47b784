#!/usr/bin/env bash
# Runs the whole test suite against a throwaway local PostgreSQL (Scripts/dev-db.sh).
# Each test gets its own database, cloned from a migrated template, so tests run in parallel.
#   Scripts/test.sh [swift test options, e.g. --filter Audit]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. Scripts/lib.sh
ensure_postgres
ensure_plpgsql_check
ensure_hledger
ensure_chromium

started=0
if ! Scripts/dev-db.sh url --dir .pg-test >/dev/null 2>&1; then started=1; fi
url=$(Scripts/dev-db.sh start --dir .pg-test --fast)
if [ "$started" -eq 1 ]; then trap 'Scripts/dev-db.sh stop --dir .pg-test' EXIT; fi
export POINTS_TEST_DATABASE_URL="$url"

swift build --build-tests
swift test --skip-build "$@"
# points-server under Schemathesis, every check, with each role's key (Scripts/fuzz-api.sh);
# not when only some tests were asked for.
if [ $# -eq 0 ]; then Scripts/fuzz-api.sh; fi

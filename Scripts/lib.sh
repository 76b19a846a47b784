# Shared by the scripts: package installation. Source it; do not run it.

# Installs Debian packages, saying so (with sudo when not root).
install_packages() {
    echo "Installing $* from Debian packages..." >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq "$@" >&2
}

# PostgreSQL's server and tools (initdb, pg_ctl, psql, pgbench: package postgresql) and libpq's
# headers (libpq-dev), installed when missing.
ensure_postgres() {
    local missing=()
    [ -e /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
        || ! command -v psql >/dev/null 2>&1 || ! command -v pgbench >/dev/null 2>&1; then
        missing+=(postgresql)
    fi
    [ ${#missing[@]} -eq 0 ] || install_packages "${missing[@]}"
}

# The newest installed PostgreSQL's bin directory.
postgres_bin() {
    ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1
}

# hledger, which the test suite opens the journal export in (Debian package hledger).
ensure_hledger() {
    command -v hledger >/dev/null 2>&1 || install_packages hledger
}

# plpgsql_check, the linter the test suite runs over every PL/pgSQL function of the ledger
# (Debian package postgresql-N-plpgsql-check, for the installed server's major version N).
ensure_plpgsql_check() {
    local major
    major=$(basename "$(dirname "$(postgres_bin)")")
    [ -e "/usr/share/postgresql/$major/extension/plpgsql_check.control" ] || install_packages "postgresql-$major-plpgsql-check"
}

# Headless Chromium, which the test suite renders the HTML liability report in (Debian package
# chromium-headless-shell: the browser without a display).
ensure_chromium() {
    [ -x /usr/bin/chromium-headless-shell ] || [ -x /usr/bin/chromium ] || install_packages chromium-headless-shell
}

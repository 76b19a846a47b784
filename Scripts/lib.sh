# Shared by the scripts: package installation and the Swift build. Source it; do not run it.

# Installs Debian packages that are missing, saying so.
#   ensure_packages COMMAND_OR_FILE PACKAGE...   (checked with command -v or test -e)
ensure_packages() {
    local probe=$1; shift
    if command -v "$probe" >/dev/null 2>&1 || [ -e "$probe" ]; then return 0; fi
    echo "Installing $* from Debian packages (missing: $probe)..." >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq "$@" >&2
}

# PostgreSQL's server binaries (initdb, pg_ctl) and libpq's headers.
ensure_postgres() {
    ensure_packages /usr/include/postgresql/libpq-fe.h libpq-dev
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        ensure_packages /nonexistent/initdb postgresql postgresql-contrib
    fi
    command -v pgbench >/dev/null 2>&1 || ensure_packages pgbench postgresql-contrib
}

# The newest installed PostgreSQL's bin directory.
postgres_bin() {
    ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1
}

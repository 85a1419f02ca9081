# Sebaya: a throwaway PostgreSQL cluster for the relay's tests (sourced by scripts/test.sh).
#
#   pg_cluster_start   makes a cluster in a fresh temporary folder, starts it on a free loopback port
#                      (its unix socket in that folder too), and exports SEBAYA_TEST_POSTGRES, a URL
#                      of its database `sebaya_test` for user `sebaya-pg` with a random password
#                      (trust only on the unix socket in the cluster's 0700 folder)
#   pg_cluster_stop    stops it (pg_ctl stop, then its postmaster by pid) and removes the folder
#
# initdb refuses to run as root: as root, the cluster runs as the unprivileged system user sebaya-pg,
# made here if missing. PostgreSQL's server programs are looked for in /usr/local/bin, then in
# Debian's /usr/lib/postgresql/*/bin; where neither has them and apt-get exists, the postgresql
# package is installed. The caller stops the cluster on exit (scripts/test.sh's trap does).

PG_CLUSTER_DIR=""
PG_CLUSTER_PID=""
PG_CLUSTER_USER="sebaya-pg"

pg_cluster_bin() { # prints the folder holding initdb, pg_ctl and postgres
    local d
    for d in /usr/local/bin /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]] && { echo "$d"; return 0; }
    done
    return 1
}

pg_cluster_as() { # runs "$@" as the cluster's owner
    if [[ $(id -u) == 0 ]]; then
        runuser -u "$PG_CLUSTER_USER" -- "$@"
    else
        "$@"
    fi
}

pg_cluster_start() {
    local bin
    if ! bin="$(pg_cluster_bin)"; then
        if declare -F apt_install >/dev/null; then
            apt_install postgresql
        else
            echo "PostgreSQL's server programs (initdb, pg_ctl) are missing" >&2
            return 1
        fi
        bin="$(pg_cluster_bin)" || { echo "initdb still not found after installing postgresql" >&2; return 1; }
    fi
    if [[ $(id -u) == 0 ]] && ! id -u "$PG_CLUSTER_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_CLUSTER_USER"
    fi
    PG_CLUSTER_DIR="$(mktemp -d /tmp/sebaya-pg.XXXXXX)"
    [[ $(id -u) == 0 ]] && chown "$PG_CLUSTER_USER" "$PG_CLUSTER_DIR"
    chmod 700 "$PG_CLUSTER_DIR"
    local user
    user="$([[ $(id -u) == 0 ]] && echo "$PG_CLUSTER_USER" || id -un)"
    # Trust only on the unix socket, inside this 0700 folder; over TCP a random password is asked,
    # so no other local user can log in as the cluster's superuser (and run programs through COPY)
    # while the tests run (review finding).
    local password
    password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
    printf '%s\n' "$password" >"$PG_CLUSTER_DIR/pwfile"
    [[ $(id -u) == 0 ]] && chown "$PG_CLUSTER_USER" "$PG_CLUSTER_DIR/pwfile"
    chmod 600 "$PG_CLUSTER_DIR/pwfile"
    pg_cluster_as "$bin/initdb" -D "$PG_CLUSTER_DIR/data" -U "$user" --auth-local=trust \
        --auth-host=scram-sha-256 --pwfile="$PG_CLUSTER_DIR/pwfile" \
        --encoding=UTF8 --no-instructions >"$PG_CLUSTER_DIR/initdb.log" 2>&1 ||
        { cat "$PG_CLUSTER_DIR/initdb.log" >&2; return 1; }
    # A free port: bind 0, read it, let it go (the cluster takes it a moment later).
    local port
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    # Tests only: no fsync (the data is thrown away), room for parallel test binaries and two nodes.
    pg_cluster_as "$bin/pg_ctl" -D "$PG_CLUSTER_DIR/data" -l "$PG_CLUSTER_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_CLUSTER_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null || { cat "$PG_CLUSTER_DIR/server.log" >&2; return 1; }
    PG_CLUSTER_PID="$(head -n 1 "$PG_CLUSTER_DIR/data/postmaster.pid")"
    pg_cluster_as "$bin/../bin/createdb" -h "$PG_CLUSTER_DIR" -p "$port" -U "$user" sebaya_test 2>/dev/null ||
        pg_cluster_as psql -h "$PG_CLUSTER_DIR" -p "$port" -U "$user" -d postgres -qc 'CREATE DATABASE sebaya_test'
    export SEBAYA_TEST_POSTGRES="postgres://$user:$password@127.0.0.1:$port/sebaya_test"
    PG_CLUSTER_BIN="$bin"
    echo "-- PostgreSQL test cluster (pid $PG_CLUSTER_PID) at postgres://$user:…@127.0.0.1:$port/sebaya_test"
}

pg_cluster_stop() {
    [[ -n "$PG_CLUSTER_DIR" ]] || return 0
    if [[ -n "$PG_CLUSTER_PID" ]]; then
        pg_cluster_as "$PG_CLUSTER_BIN/pg_ctl" -D "$PG_CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1 ||
            kill "$PG_CLUSTER_PID" 2>/dev/null || true
    fi
    rm -rf "$PG_CLUSTER_DIR"
    PG_CLUSTER_DIR=""
    PG_CLUSTER_PID=""
}

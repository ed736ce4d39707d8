#!/bin/sh
# A throwaway PostgreSQL server for the store tests (issue #15).
#
#   pg-server.sh start DIR   initdb in DIR/data as an unprivileged user (the
#                            postgres system user when run as root), password
#                            authentication (scram-sha-256) for the role veil,
#                            whose password is in DIR/password (mode 0600);
#                            listens only on a unix socket in DIR (no TCP port,
#                            so parallel runs never collide); prints the
#                            conninfo: host=DIR port=5432 user=veil dbname=postgres
#   pg-server.sh stop DIR    immediate shutdown
#
# Exit 77 (skip) with the reason on stderr when the server package is
# missing; any other failure prints the server's log.
set -u
cmd=${1:?usage: pg-server.sh start|stop DIR}
dir=${2:?usage: pg-server.sh start|stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    bin=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
fi
if [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
    echo "the postgresql server package is not installed (no initdb/pg_ctl; apt-get install postgresql)" >&2
    exit 77
fi
as_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
case $cmd in
start)
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "running as root and there is no postgres user to run the server as" >&2; exit 77; }
        chown postgres "$dir"
    fi
    head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/password"
    chmod 600 "$dir/password"
    cp "$dir/password" "$dir/pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir/pwfile"
    if ! as_user "$bin/initdb" -D "$dir/data" -U veil -A scram-sha-256 --pwfile="$dir/pwfile" \
            >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        exit 1
    fi
    rm -f "$dir/pwfile"
    if ! as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-k $dir -c listen_addresses= -p 5432 -c max_connections=200" start >/dev/null 2>&1; then
        cat "$dir/server.log" >&2
        exit 1
    fi
    echo "host=$dir port=5432 user=veil dbname=postgres"
    ;;
stop)
    as_user "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
    ;;
*)
    echo "usage: pg-server.sh start|stop DIR" >&2
    exit 2
    ;;
esac

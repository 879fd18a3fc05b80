#!/bin/sh
# The part of the official postgres image's entry point the compose stack relies on: on first start, a
# cluster whose superuser is POSTGRES_USER with POSTGRES_PASSWORD (password auth over the network, trust on
# the local socket as upstream), and the database POSTGRES_DB; then the server as user postgres.
set -eu
if [ "${1:-postgres}" != postgres ]; then
    exec "$@"
fi
[ "$#" -gt 0 ] && shift
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (the postgres stand-in has no passwordless mode)}"
user="${POSTGRES_USER:-postgres}"
database="${POSTGRES_DB:-$user}"
as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups"

mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    $as_postgres initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" > /dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$database" != postgres ]; then
        echo "CREATE DATABASE \"$database\"" | $as_postgres postgres --single -D "$PGDATA" postgres > /dev/null
    fi
    echo "postgres stand-in: initialised $PGDATA (superuser $user)"
fi
exec $as_postgres postgres -D "$PGDATA" -c listen_addresses='*' "$@"

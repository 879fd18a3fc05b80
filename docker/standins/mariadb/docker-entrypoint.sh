#!/bin/sh
# The part of the official mariadb image's entry point the compose stack relies on: on first start, a data
# directory whose root (localhost and any host) has MARIADB_ROOT_PASSWORD; then the server on every interface.
set -eu
if [ "${1:-mariadbd}" != mariadbd ]; then
    exec "$@"
fi
[ "$#" -gt 0 ] && shift
: "${MARIADB_ROOT_PASSWORD:?set MARIADB_ROOT_PASSWORD (the mariadb stand-in has no passwordless mode)}"
socket=/run/mysqld/init.sock

mkdir -p /var/lib/mysql /run/mysqld
chown mysql:mysql /var/lib/mysql /run/mysqld
if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
        --auth-root-authentication-method=socket > /dev/null
    # A private server (socket only) to set the passwords, as upstream does.
    mariadbd --user=mysql --skip-networking --socket="$socket" &
    pid=$!
    tries=0
    until mariadb-admin --socket="$socket" ping > /dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge 60 ]; then
            echo "mariadb stand-in: the initialising server did not start" >&2
            exit 1
        fi
        sleep 1
    done
    password=$(printf '%s' "$MARIADB_ROOT_PASSWORD" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")
    mariadb --socket="$socket" <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$password');
CREATE USER 'root'@'%' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
SQL
    mariadb-admin --socket="$socket" shutdown
    wait "$pid"
    echo "mariadb stand-in: initialised /var/lib/mysql"
fi
exec mariadbd --user=mysql --bind-address=0.0.0.0 --port=3306 "$@"

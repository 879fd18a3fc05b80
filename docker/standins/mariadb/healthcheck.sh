#!/bin/sh
# The official mariadb image's healthcheck.sh, for the two tests the compose stack uses:
#   --connect              a TCP connection as root succeeds
#   --innodb_initialized   InnoDB is up
set -eu
export MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-}"
query() {
    mariadb --protocol=tcp -h 127.0.0.1 -P 3306 -u root --batch --skip-column-names -e "$1"
}
for test in "$@"; do
    case "$test" in
        --connect) query "SELECT 1" > /dev/null ;;
        --innodb_initialized)
            [ "$(query "SELECT 1 FROM information_schema.ENGINES WHERE ENGINE = 'InnoDB' AND SUPPORT IN ('YES', 'DEFAULT')")" = 1 ] ;;
        *) echo "healthcheck.sh (stand-in): unsupported test $test" >&2; exit 2 ;;
    esac
done

#!/usr/bin/env bash
# Makes sure a MariaDB server answers at 127.0.0.1:3306 (user root, no
# password, database test), installing and starting it when needed. CI
# machines of this project's kind start one already; a fresh machine may not.
set -euo pipefail

ping() { mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; }

if ! command -v mysqladmin >/dev/null 2>&1 || ! [ -x /usr/sbin/mariadbd ]; then
  echo "mariadb: installing mariadb-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq mariadb-server mariadb-client >/dev/null
fi
if ! ping; then
  echo "mariadb: starting"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do ping && break; sleep 1; done
fi
ping || { echo "mariadb: not reachable at 127.0.0.1:3306" >&2; exit 1; }
mysql --protocol=tcp -h 127.0.0.1 -u root -e 'CREATE DATABASE IF NOT EXISTS test'
echo "mariadb: ready at 127.0.0.1:3306"

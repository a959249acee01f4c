#!/bin/bash
# Entrypoint of the stand-in Postgres image (test/containers/bases.sh): the part of the official
# image's contract that docker-compose.yml and k8s/base/postgres.yaml rely on.
#   POSTGRES_PASSWORD (required)  POSTGRES_USER (postgres)  POSTGRES_DB (= POSTGRES_USER)
#   POSTGRES_INITDB_ARGS  PGDATA  POSTGRES_HOST_AUTH_METHOD (scram-sha-256)
#   arguments starting with `-` go to postgres; any other command runs as given (the db-roles job).
# Runs as root (drops to `postgres`, owning PGDATA first) or directly as uid 999 (Kubernetes).
set -euo pipefail

if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
if [ "$1" != postgres ]; then exec "$@"; fi

: "${PGDATA:?PGDATA is not set}"
if [ "$(id -u)" = 0 ]; then
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  chown -R postgres:postgres "$PGDATA"
  install -d -o postgres -g postgres -m 3777 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set to initialise the database}"
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  mkdir -p "$PGDATA" && chmod 0700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of flags, as in the official image
  initdb --username="$user" --pwfile="$pwfile" ${POSTGRES_INITDB_ARGS:-} >/dev/null
  rm -f "$pwfile"
  printf '\nlisten_addresses = '"'*'"'\n' >>"$PGDATA/postgresql.conf"
  printf 'host all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
  # A server on the socket only, to create the database; then the real start below.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$db" != postgres ]; then
    psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$user" --dbname postgres \
      -c "create database \"$db\"" >/dev/null
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "stand-in postgres: initialised $PGDATA (user $user, database $db)"
fi

exec "$@"

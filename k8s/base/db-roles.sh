#!/bin/sh
# Creates or updates the database login roles before each migration run. Idempotent, so it runs on
# every deploy and picks up rotated passwords from the Secret. Connects as the superuser (PGUSER,
# PGPASSWORD); needs MIGRATOR_DB_PASSWORD, AUTH_DB_PASSWORD, IMAGE_DB_PASSWORD and POSTGRES_DB.
#
#   imagehub_migrator     owns the database: creates the schemas and tables (the migrations Job)
#   imagehub_auth_login   member of imagehub_auth: rows in schema `auth` only (the auth subgraph)
#   imagehub_image_login  member of imagehub_image: rows in schema `image` only (the image subgraph)
#
# The group roles and their grants come from the migrations themselves (db/src/migrations/
# 2026112400{03,04}_*), so the privileges live in git next to the tables they cover.
set -eu

tries=0
until pg_isready --quiet; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "postgres is not answering after 120 s" >&2
    exit 1
  fi
  sleep 2
done

psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 \
  -v db="$POSTGRES_DB" \
  -v migrator_password="$MIGRATOR_DB_PASSWORD" \
  -v auth_password="$AUTH_DB_PASSWORD" \
  -v image_password="$IMAGE_DB_PASSWORD" <<'SQL'
select format('create role %I nologin', r) from unnest(array['imagehub_auth', 'imagehub_image']) as r
  where not exists (select from pg_roles where rolname = r) \gexec
select format('create role %I login', r)
  from unnest(array['imagehub_migrator', 'imagehub_auth_login', 'imagehub_image_login']) as r
  where not exists (select from pg_roles where rolname = r) \gexec

alter role imagehub_migrator with login nosuperuser nocreaterole nocreatedb password :'migrator_password';
alter role imagehub_auth_login with login nosuperuser nocreaterole nocreatedb inherit password :'auth_password';
alter role imagehub_image_login with login nosuperuser nocreaterole nocreatedb inherit password :'image_password';
grant imagehub_auth to imagehub_auth_login;
grant imagehub_image to imagehub_image_login;

-- The owner may create schemas in the database and, since Postgres 15, owns its `public` schema.
alter database :"db" owner to imagehub_migrator;
SQL
echo "database roles are in place"

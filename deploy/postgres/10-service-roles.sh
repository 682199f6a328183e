#!/bin/sh
# Postgres image init step (runs once, on an empty data directory): create the per-service login
# roles and the read-only BI role soleflip_analytics WITH their passwords, from the environment.
# Everything else (schemas, ownership, grants, tables, views, the analytics role's read-only
# default) is `soleflip migrate all`, which finds these roles and leaves their passwords alone.
# Used by docker-compose.yml and the k8s dev overlay (same file, kept in sync by a test).
set -eu

for service in catalog orders pricing analytics; do
  var="SOLEFLIP_$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  eval "password=\${$var:-}"
  if [ -z "$password" ]; then
    echo "10-service-roles: $var is empty; soleflip_$service is left to soleflip migrate" >&2
    continue
  fi
  # psql variables quote the password (:'pw') so it never needs escaping here.
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v role="soleflip_$service" -v pw="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'pw')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SQL
done

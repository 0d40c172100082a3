# shellcheck shell=bash
## One PostgreSQL instance's bootstrap in the apply script (apply_host.sh): its SQL from
## the host's parameters, run by psql as the RDS-managed master user.

# Bootstrap '__TARGET__' as its master user; the secrets live in this subshell only.
SQL=$(pick "$HOST" __PARAMETER__ | base64 -d | gunzip)
put 0600 __SQL_FILE__ "$SQL"
(
  MASTER=$(aws secretsmanager get-secret-value --secret-id '__MASTER_SECRET_ARN__' \
    --query SecretString --output text)
  PGUSER=$(printf '%s' "$MASTER" | secret_field username)
  PGPASSWORD=$(printf '%s' "$MASTER" | secret_field password)
  PGHOST='__DATABASE_HOST__' PGPORT='__DATABASE_PORT__' PGCONNECT_TIMEOUT=10
  ## The server's certificate must chain to the RDS CA and name PGHOST.
  PGSSLMODE=verify-full PGSSLROOTCERT=__RDS_CA_FILE__
  export PGUSER PGPASSWORD PGHOST PGPORT PGSSLMODE PGSSLROOTCERT PGCONNECT_TIMEOUT
  ## Each role's password, from its service's parameters, for the SQL to set.
  __ROLE_PASSWORDS__
  __PSQL__
)

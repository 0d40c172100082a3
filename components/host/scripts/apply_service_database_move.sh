# shellcheck shell=bash disable=SC2030,SC2031,SC2329
## The PG* variables are set inside on_source/on_target's subshells on purpose (SC2030,
## SC2031): each command sees one instance; `query` runs through them (SC2329).
## One service's database copied from the shared instance to its own, in the apply script
## (apply_host.sh) before anything of the apply is written, so a failure leaves the host
## as it was: the service starts again on the shared instance and the apply fails.
## It copies once: where its own instance holds the database marked as moved, or the shared
## one never held it (a service dedicated from the start), there is nothing to do.

# __SERVICE__: __DATABASE__ from the shared instance to '__TARGET__', once.
(
  SOURCE=$(aws secretsmanager get-secret-value --secret-id '__SOURCE_SECRET_ARN__' \
    --query SecretString --output text)
  TARGET=$(aws secretsmanager get-secret-value --secret-id '__TARGET_SECRET_ARN__' \
    --query SecretString --output text)
  ## Both sides print rows the same way, whatever each instance's defaults.
  ## Each server's certificate must chain to the RDS CA and name its host.
  export PGSSLMODE=verify-full PGSSLROOTCERT=__RDS_CA_FILE__
  export PGCONNECT_TIMEOUT=10 PGTZ=UTC PGDATESTYLE=ISO
  # on_source/on_target COMMAND...: COMMAND as that instance's master user.
  on_source() (
    PGUSER=$(printf '%s' "$SOURCE" | secret_field username)
    PGPASSWORD=$(printf '%s' "$SOURCE" | secret_field password)
    export PGUSER PGPASSWORD PGHOST='__SOURCE_HOST__' PGPORT='__SOURCE_PORT__'
    "$@"
  )
  on_target() (
    PGUSER=$(printf '%s' "$TARGET" | secret_field username)
    PGPASSWORD=$(printf '%s' "$TARGET" | secret_field password)
    export PGUSER PGPASSWORD PGHOST='__TARGET_HOST__' PGPORT='__TARGET_PORT__'
    "$@"
  )
  # query DATABASE: the SQL on stdin, bare values out; a failed statement fails.
  query() { psql -X -q -A -t -v ON_ERROR_STOP=1 --dbname="$1"; }
  # copy: the dump restored in one transaction, compared table by table, then marked.
  copy() {
    on_source pg_dump --format=custom --no-owner --no-privileges --dbname='__DATABASE__' \
      | on_target pg_restore --no-owner --no-privileges --role='__ROLE__' \
        --exit-on-error --single-transaction --dbname='__DATABASE__' || return 1
    local before after
    before=$(printf '%s\n' __FINGERPRINT__ | on_source query '__DATABASE__') || return 1
    after=$(printf '%s\n' __FINGERPRINT__ | on_target query '__DATABASE__') || return 1
    if [ "$before" != "$after" ]; then
      echo "__SERVICE__: the copy of __DATABASE__ on '__TARGET__' differs from the shared one" >&2
      return 1
    fi
    printf '%s\n' __MARK_SQL__ | on_target query postgres || return 1
  }

  HELD=$(printf '%s\n' __HELD_SQL__ | on_source query postgres)
  STATE=$(printf '%s\n' __STATE_SQL__ | on_target query postgres)
  if [ "$HELD" = held ] && [ "$STATE" != moved ]; then
    if [ "$STATE" = missing ]; then
      echo "__SERVICE__: __DATABASE__ is not on '__TARGET__' yet: apply" \
        "services.__SERVICE__.database: moving first (docs/runbooks.md)" >&2
      exit 1
    fi
    RELATIONS=$(printf '%s\n' __RELATIONS_SQL__ | on_target query '__DATABASE__')
    if [ "$RELATIONS" != 0 ]; then
      echo "__SERVICE__: __DATABASE__ on '__TARGET__' holds $RELATIONS relations no move" \
        "put there: refusing to overwrite them (docs/runbooks.md)" >&2
      exit 1
    fi
    ## Its writes stop for the copy: every replica of it the running document has, however
    ## many the new one runs (a new host runs nothing yet); the rest of the apply starts
    ## them on its own instance.
    CANDIDATES=(__CONTAINERS__) WRITERS=()
    if [ -f '__COMPOSE_FILE__' ]; then
      RUNNING=$(docker compose -f '__COMPOSE_FILE__' config --services) || {
        echo "__SERVICE__: cannot read the running compose document; nothing switched" >&2
        exit 1
      }
      for name in "${CANDIDATES[@]}"; do
        case $'\n'"$RUNNING"$'\n' in *$'\n'"$name"$'\n'*) WRITERS+=("$name") ;; esac
      done
    fi
    if [ "${#WRITERS[@]}" -gt 0 ]; then docker compose -f '__COMPOSE_FILE__' stop "${WRITERS[@]}"; fi
    if ! copy; then
      if [ "${#WRITERS[@]}" -gt 0 ]; then
        docker compose -f '__COMPOSE_FILE__' start "${WRITERS[@]}" || true
      fi
      echo "__SERVICE__: nothing switched; it runs on the shared instance again" >&2
      exit 1
    fi
    echo "__SERVICE__: __DATABASE__ copied to '__TARGET__'"
  fi
)

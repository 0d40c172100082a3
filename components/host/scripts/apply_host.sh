#!/bin/bash
## The app host's apply script, the one step of its SSM Command document
## (components/host/apply_document.py). `{{ Name }}` are the document's parameters, filled
## in by SSM on the host; `__NAME__` what the renderer fills in per host.
set -euo pipefail
## A failing $(...) must stop the script, not leave a half-written value behind.
shopt -s inherit_errexit
umask 077
export AWS_DEFAULT_REGION='{{ Region }}'
export PATH="$PATH:/snap/bin"
## Snaps (the AWS CLI) need a HOME; SSM's agent may run the script without one.
export HOME="${HOME:-/root}"
## On first boot cloud-init holds apt; whatever it failed to install is installed next.
cloud-init status --wait >/dev/null || true

# Docker, Compose, psql and the AWS CLI, whichever is missing; a failed install fails.
__INSTALL_MISSING__

## Shell helpers. python3 (always on Ubuntu) reads the CLI's JSON: no jq, no secret in a
## temp file.
# by_path PATH: PATH's parameters, decrypted, as JSON {name relative to PATH: value}.
by_path() {
  aws ssm get-parameters-by-path --path "$1" --recursive --with-decryption \
    --query 'Parameters[].[Name,Value]' --output json \
  | python3 -c 'import json,sys; p=sys.argv[1]
json.dump(dict((n[len(p)+1:], v) for n, v in json.load(sys.stdin)), sys.stdout)' "$1"
}
# by_names PATH KEY...: the named parameters under PATH, decrypted, as by_path's JSON.
by_names() {
  local path=$1
  shift
  aws ssm get-parameters --names "${@/#/$path/}" --with-decryption \
    --query 'Parameters[].[Name,Value]' --output json \
  | python3 -c 'import json,sys; p=sys.argv[1]
json.dump(dict((n[len(p)+1:], v) for n, v in json.load(sys.stdin)), sys.stdout)' "$path"
}
# pick JSON NAME: one value from by_path's output; fails naming what is missing.
pick() {
  printf '%s' "$1" | python3 -c 'import json,sys; v=json.load(sys.stdin); k=sys.argv[1]
sys.exit("missing SSM parameter " + k) if k not in v else sys.stdout.write(v[k])' "$2"
}
# env_line VAR: stdin as one single-quoted (never interpolated) env-file line.
env_line() {
  python3 -c 'import sys; k=sys.argv[1]; v=sys.stdin.read(); q=chr(39)
sys.exit(k + ": a quote or newline cannot go into an env file") if q in v or chr(10) in v \
else print(k + "=" + q + v + q)' "$1"
}
# secret_field FIELD: one field of a Secrets Manager JSON secret on stdin.
secret_field() {
  python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
# put MODE FILE CONTENT: CONTENT to FILE atomically, never readable beyond MODE.
put() {
  local tmp; tmp=$(mktemp "$2.XXXXXX")
  printf '%s\n' "$3" >"$tmp"; chmod "$1" "$tmp"; mv -f "$tmp" "$2"
}
# fetch_ca_bundle URL FILE: the PEM bundle at URL to FILE (0644), kept only if it holds CA
# certificates; urllib checks the HTTPS server against the system's trust store.
fetch_ca_bundle() {
  local tmp; tmp=$(mktemp "$2.XXXXXX")
  python3 -c 'import ssl,sys,urllib.request; url, path = sys.argv[1:]
with urllib.request.urlopen(url, timeout=60) as r: final, data = r.geturl(), r.read()
ok = final.startswith("https://")
try: ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.load_verify_locations(cadata=data.decode("ascii")); n = len(ctx.get_ca_certs())
except (ssl.SSLError, UnicodeDecodeError, ValueError): n = 0
sys.exit("RDS CA bundle: no CA certificate at " + final) if not (ok and n) else open(path, "wb").write(data)' "$1" "$tmp"
  chmod 0644 "$tmp" && mv -f "$tmp" "$2"
}
# copy_file FROM TO: FROM's bytes to TO atomically (mode 0644).
copy_file() {
  local tmp; tmp=$(mktemp "$2.XXXXXX")
  cp "$1" "$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$2"
}
# converge: create or recreate what changed, remove what is gone, wait for health.
converge() {
  docker compose -f __COMPOSE_FILE__ up -d --remove-orphans --wait --wait-timeout 600
}
# roll_back (on EXIT): after a failed run, the last compose document that came up healthy
# goes back in place and up again; the run fails all the same, with its own status.
## Only the compose document returns: env files and RabbitMQ definitions hold the
## credentials the stores already have (the bootstrap and the broker reload ran).
## A replica a failed run took out of its target group (apply_rolling.sh) goes back in,
## whatever the rollback's outcome: the ALB only routes to it once it passes its checks.
DRAINING=""
roll_back() {
  local status=$?
  trap - EXIT
  if [ "$status" -ne 0 ] && [ -f __LAST_GOOD_FILE__ ] \
    && ! cmp -s __LAST_GOOD_FILE__ __COMPOSE_FILE__; then
    echo "apply failed (exit $status): rolling back to the last healthy compose document" >&2
    if copy_file __LAST_GOOD_FILE__ __COMPOSE_FILE__ && converge; then
      echo "rolled back: the last healthy compose document is up again" >&2
    else
      echo "rollback failed: the last healthy compose document did not come up" >&2
    fi
  fi
  if [ -n "$DRAINING" ]; then
    aws elbv2 register-targets --target-group-arn "${DRAINING%% *}" --targets "${DRAINING#* }" \
      || echo "could not register ${DRAINING#* } in ${DRAINING%% *} again" >&2
  fi
  exit "$status"
}

install -d -m 0755 __HOST_ROOT__ __RABBITMQ_DIR__
install -d -m 0700 __ENV_DIR__

# The RDS CA bundle that psql and the services verify the database with; fetched once.
if [ ! -s __RDS_CA_FILE__ ]; then
  fetch_ca_bundle '{{ RdsCaBundleUrl }}' __RDS_CA_FILE__
fi

## apply_cloudwatch_agent.sh: the agent that reports disk and memory use.
__CLOUDWATCH_AGENT__

## apply_registry_login.sh, where the stack names a private registry.
__REGISTRY_LOGIN__

# The host's own documents.
HOST=$(by_path '__HOST_PATH__')
## apply_service_database_move.sh per service whose database moves to its own instance.
__MOVES__
DOC=$(pick "$HOST" __COMPOSE_PARAMETER__ | base64 -d | gunzip)
## From here on, a failure puts the last healthy document back (roll_back).
trap roll_back EXIT
put 0644 __COMPOSE_FILE__ "$DOC"
## apply_service.sh per service (apply_service_database_password.sh per service it only
## bootstraps), then apply_database.sh per PostgreSQL instance.
__SERVICES__
__DATABASES__
## apply_rabbitmq_reloads.sh, where a service on the host uses RabbitMQ.
__RABBITMQ_RELOADS__

## apply_rolling.sh, where the stack runs two replicas of each service and web client.
__ROLLING__
# Converge; a document that comes up healthy is the one a later failure returns to.
converge
copy_file __COMPOSE_FILE__ __LAST_GOOD_FILE__
trap - EXIT
# Images no container uses (earlier deploys' tags) go. Those of the running containers,
# which are this document's and so what a later failed apply rolls back to, stay.
if ! docker image prune --all --force >/dev/null; then
  echo "image prune failed; the apply itself succeeded" >&2
fi

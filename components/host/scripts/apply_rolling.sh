# shellcheck shell=bash disable=SC2034
## DRAINING is apply_host.sh's: what its roll_back registers again after a failed run.
## Before compose converges (apply_host.sh), where the stack runs two replicas: each
## service and web client whose replicas all run is replaced one replica at a time, that
## replica out of its target group meanwhile (apply_rolling_owner.sh per owner). The ALB
## stops sending it requests when it is deregistered and lets those in flight finish (the
## target group's deregistration delay); `wait target-deregistered` returns once it has.

# running CONTAINER: CONTAINER exists and runs.
running() {
  docker inspect --type container "$1" 2>/dev/null \
  | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[0]["State"]["Running"] else 1)' \
    2>/dev/null
}
# changed SERVICE: Compose would recreate SERVICE's container for the new document, by its
# own comparison (configuration, image, env files' contents): a dry run says so.
changed() {
  local plan
  plan=$(docker compose -f __COMPOSE_FILE__ --dry-run up -d --no-deps "$1" 2>&1)
  printf '%s\n' "$plan" | grep -Eq "Container $1 +Recreate"
}
# roll GROUP CONTAINER:PORT...: every replica whose configuration changed, one at a time:
# out of GROUP (drained), recreated alone, healthy, back in GROUP and in service. Where one
# of them does not run (the first deploy, a new replica) converge brings them up instead.
roll() {
  local group=$1 replica name port target
  shift
  for replica in "$@"; do
    running "${replica%%:*}" || return 0
  done
  for replica in "$@"; do
    name=${replica%%:*} port=${replica##*:}
    changed "$name" || continue
    target="Id=__INSTANCE_ID__,Port=$port"
    echo "rolling $name: out of its target group, replaced, back in service" >&2
    DRAINING="$group $target"
    aws elbv2 deregister-targets --target-group-arn "$group" --targets "$target"
    aws elbv2 wait target-deregistered --target-group-arn "$group" --targets "$target"
    docker compose -f __COMPOSE_FILE__ up -d --no-deps --wait --wait-timeout 600 "$name"
    aws elbv2 register-targets --target-group-arn "$group" --targets "$target"
    DRAINING=""
    aws elbv2 wait target-in-service --target-group-arn "$group" --targets "$target"
  done
}
__OWNERS__

#!/usr/bin/env bash
# The pull request's offline plan comment for one stack: `make plan --json` on the base and on
# the head, compared by `python -m plan.diff`. Needs no cloud credentials.
#   scripts/pr_plan_comment.sh STACK BASE_SHA OUT_DIR
# Writes OUT_DIR/comment.md (always) and OUT_DIR/head.rc (the head plan's exit code), and prints
# the head's policy violations as workflow annotations.
set -uo pipefail
stack=$1 base_sha=$2 out=$3
mkdir -p "$out"
marker="<!-- plan-diff:${stack} -->"

make plan STACK="$stack" PLAN_ARGS="--json $out/head.json" >"$out/head.log" 2>&1
echo $? >"$out/head.rc"

# The base as it was: a worktree of the base commit, planned with the same tools.
base_dir=$(mktemp -d)
git worktree add --quiet --detach "$base_dir" "$base_sha"
ln -s "$PWD/venv" "$base_dir/venv"
if [ -f "$base_dir/Pulumi.$stack.yaml" ]; then
  (cd "$base_dir" && venv/bin/python -m plan "$stack" --json "$out/base.json") >"$out/base.log" 2>&1
fi
[ -s "$out/base.json" ] || echo '{}' >"$out/base.json"  # a stack the base does not have yet
git worktree remove --force "$base_dir"

if [ -s "$out/head.json" ]; then
  # The annotations go to the job's log, where GitHub reads them; the comment to a file.
  venv/bin/python -m plan.diff "$out/base.json" "$out/head.json" --annotations \
    --markdown "$out/diff.md"
fi
{
  echo "$marker"
  if [ -s "$out/diff.md" ]; then
    cat "$out/diff.md"
  else
    echo "### \`$stack\`: the plan failed"
    echo
    echo '```'
    tail -n 5 "$out/head.log"
    echo '```'
  fi
} >"$out/comment.md"
